"""Referring segmentor: image + sentence -> mask, on mmseg's BaseSegmentor."""
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import ModuleList
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.utils import add_prefix
from torch import Tensor

from mmris.datasets.transforms.geometric import cris_affine
from mmris.registry import MODELS
from ..utils.content_box import content_box, require_unpadded
from ..utils.text_features import TextFeatures

UNDO_RESIZE = ('bilinear', 'cris', 'direct')


def _takes_text(module) -> bool:
    return getattr(module, 'takes_text', False)


def _repeat(x, index: Tensor):
    """Backbone output(s) of the distinct images -> one per sample."""
    if isinstance(x, Tensor):
        return x[index]
    if isinstance(x, (list, tuple)):
        return type(x)(_repeat(e, index) for e in x)
    raise TypeError(f'dedup_images: cannot repeat a backbone output of type {type(x)}')


@MODELS.register_module()
class ReferringEncoderDecoder(BaseSegmentor):
    """Image encoder + text encoder (+ neck) + head, for referring image segmentation.

    The sentence of each data sample is ``metainfo['text']``; the text encoder tokenizes it.
    A backbone or neck whose class sets ``takes_text = True`` is called as
    ``module(x, text)`` with the :class:`TextFeatures` (words, padding mask, sentence), so that
    encoders fusing language inside (LAVT-style Swin) fit without changes here; others get
    ``module(x)``. Heads are called as ``head(x, text)`` / ``head.loss(x, text,
    data_samples, train_cfg)`` and return B x 1 x h x w logits.

    ``predict`` upsamples the logits to the input size (bilinear), crops the letterbox
    content ``[top : h_img - bottom, left : w_img - right]`` given by
    ``metainfo['pad_param'] = [top, bottom, left, right]`` (absent = none) inside
    ``metainfo['img_shape']``, resizes it to ``metainfo['ori_shape']`` (bilinear) and
    thresholds the sigmoid at ``test_cfg['threshold']`` (``>``). With ``output_size='input'``
    it stops at ``img_shape`` (no letterbox undone: the LAVT protocol). With
    ``undo_resize='cris'`` it does what CRIS's test does instead: sigmoid, bicubic
    (``align_corners=True``) to the input size, ``cv2.warpAffine`` of the probabilities back to
    ``ori_shape`` with the inverse of CRIS's letterbox matrix (bicubic, border 0; see
    ``LetterboxResize(backend='cris')``), then ``> threshold``. With ``undo_resize='direct'``
    the logits go from the head's grid straight to the output size in one bilinear resize
    (EVF-SAM2's ``postprocess_masks``; the input must have no padding).

    A head may return ``(logits, no_target_logits)`` (B x 1 x h x w and B) from its forward;
    ``predict`` then sets ``pred_no_target`` (sigmoid > ``test_cfg['no_target_thr']``) on
    each sample, which ``ReferMetric`` uses for gRefCOCO's N-acc / T-acc (without it: an
    empty mask means "no target"). Each sample's metainfo gets ``postprocess``: the
    threshold, output size and undo mode applied (``ReferMetric`` reports them).

    Args:
        backbone (dict): Image encoder.
        text_encoder (dict): Text encoder; ``forward(list[str]) -> TextFeatures``.
        decode_head (dict): Head.
        neck (dict, optional): Neck.
        auxiliary_head (dict | list[dict], optional): Extra heads adding losses (kept in a
            ModuleList, ``auxiliary_head.0.*``). A backbone or auxiliary head with a
            ``bind_text_encoder`` method is handed the text encoder (not registered as its
            submodule), e.g. to encode masked sentences (Mask Grounding).
        train_cfg (dict, optional): Passed to the heads' ``loss``.
        test_cfg (dict, optional): ``threshold`` (0.35), ``output_size``
            ('original' | 'input'), ``undo_resize`` ('bilinear' | 'cris' | 'direct') and
            ``no_target_thr`` (0.5).
        data_preprocessor (dict, optional): e.g. mmseg's ``SegDataPreProcessor``.
        dedup_images (bool): A sample whose input image equals the previous sample's
            (several sentences of one image in a row: ``ImageGroupedSampler`` in training,
            ``text_mode='all'`` splits in evaluation) does not go through the backbone
            again: the backbone runs on the distinct images and its output is repeated.
            The same result as without (the gradient of a repeated output sums over its
            uses) for backbones without batch statistics (no BatchNorm in training, as
            SAM's ViT); not applied to text-taking backbones, nor while tracing (ONNX
            export). For EVF-SAM, whose frozen SAM image encoder is nearly all of the
            cost. Defaults to False.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 decode_head: dict,
                 neck: Optional[dict] = None,
                 auxiliary_head=None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 dedup_images: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.dedup_images = dedup_images
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = self.decode_head.align_corners
        aux = auxiliary_head if isinstance(auxiliary_head, (list, tuple)) \
            else [auxiliary_head] if auxiliary_head else []
        self.auxiliary_head = ModuleList([MODELS.build(h) for h in aux]) if aux else None
        for module in [self.backbone, *(self.auxiliary_head or [])]:
            if hasattr(module, 'bind_text_encoder'):  # e.g. MagNet's Swin, Mask Grounding
                module.bind_text_encoder(self.text_encoder)
        self.train_cfg = train_cfg
        self.test_cfg = {**dict(threshold=0.35, output_size='original', undo_resize='bilinear',
                                no_target_thr=0.5), **(test_cfg or {})}
        assert self.test_cfg['output_size'] in ('original', 'input')
        if self.test_cfg['undo_resize'] not in UNDO_RESIZE:
            raise ValueError(f'test_cfg.undo_resize must be one of {UNDO_RESIZE}, got '
                             f'"{self.test_cfg["undo_resize"]}"')
        if self.test_cfg['undo_resize'] == 'cris' and self.test_cfg['output_size'] != 'original':
            raise ValueError('test_cfg.undo_resize="cris" warps back to the original size: '
                             'it needs output_size="original"')

    def extract_text(self, data_samples: List) -> TextFeatures:
        """Encode ``metainfo['text']`` of every sample.

        A text encoder whose class sets ``takes_image_view = True`` (early vision-language
        fusion, EVF-SAM's BEiT-3) is called as ``text_encoder(texts, views)`` with the B, 3,
        h, w stack of the samples' ``img_view`` (a second view of the image made by the
        data pipeline, :class:`ImageView`).
        """
        texts = [s.metainfo['text'] for s in data_samples]
        if getattr(self.text_encoder, 'takes_image_view', False):
            if not all('img_view' in s for s in data_samples):
                raise KeyError(f'{type(self.text_encoder).__name__} needs a second image view: '
                               'add ImageView to the data pipeline (img_view missing)')
            return self.text_encoder(texts, torch.stack([s.img_view for s in data_samples]))
        return self.text_encoder(texts)

    def extract_feat(self, inputs: Tensor, text: TextFeatures):
        """Image (and text) -> features for the head."""
        return self.extract_feat_text(inputs, text)[0]

    def extract_feat_text(self, inputs: Tensor, text: TextFeatures) -> tuple:
        """Image (and text) -> (features for the head, text features).

        A text-taking backbone may return ``(feats, TextFeatures)`` when it updates the text
        stream (MagNet's two-way fusion); the heads then get its text features.
        """
        if _takes_text(self.backbone):
            x = self.backbone(inputs, text)
        elif self.dedup_images and len(inputs) > 1 and not torch.jit.is_tracing():
            x = self._backbone_once_per_image(inputs)
        else:
            x = self.backbone(inputs)
        if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], TextFeatures):
            x, text = x
        if self.with_neck:
            x = self.neck(x, text) if _takes_text(self.neck) else self.neck(x)
        return x, text

    def _backbone_once_per_image(self, inputs: Tensor):
        """The backbone on the images that differ from the previous sample's, repeated."""
        new = torch.ones(len(inputs), dtype=torch.bool, device=inputs.device)  # B
        new[1:] = (inputs[1:] != inputs[:-1]).flatten(1).any(1)
        if new.all():
            return self.backbone(inputs)
        return _repeat(self.backbone(inputs[new]), new.cumsum(0) - 1)  # sample -> image

    def encode_decode(self, inputs: Tensor, data_samples: List) -> Tensor:
        """B, 3, H, W images + samples -> B, 1, h, w logits at the head's resolution."""
        return self._decode(inputs, data_samples)[0]

    def _decode(self, inputs: Tensor, data_samples: List) -> Tuple[Tensor, Optional[Tensor]]:
        """Logits and, if the head gives one, its B no-target logits."""
        x, text = self.extract_feat_text(inputs, self.extract_text(data_samples))
        out = self.decode_head(x, text)
        return out if isinstance(out, tuple) else (out, None)

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        """Losses of the decode head (``decode.*``) and auxiliary heads (``aux.*``)."""
        x, text = self.extract_feat_text(inputs, self.extract_text(data_samples))
        losses = add_prefix(self.decode_head.loss(x, text, data_samples, self.train_cfg),
                            'decode')
        aux_heads = self.auxiliary_head or []
        for i, head in enumerate(aux_heads):
            name = 'aux' if len(aux_heads) == 1 else f'aux_{i}'
            losses.update(add_prefix(head.loss(x, text, data_samples, self.train_cfg), name))
        return losses

    def _forward(self, inputs: Tensor, data_samples: Optional[List] = None) -> Tensor:
        """B, 1, h, w logits (``tensor`` mode)."""
        return self.encode_decode(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: List) -> List:
        """Samples with ``seg_logits`` and ``pred_sem_seg`` (1, H, W) at the output size."""
        logits, no_target = self._decode(inputs, data_samples)
        data_samples = self.postprocess_result(logits, data_samples, inputs.shape[-2:])
        if no_target is not None:
            flags = (no_target.reshape(-1).sigmoid() > self.test_cfg['no_target_thr']).tolist()
            for sample, flag in zip(data_samples, flags):
                sample.set_metainfo(dict(pred_no_target=bool(flag)))
        return data_samples

    def _crop_and_size(self, meta: dict, input_size: Tuple[int, int]) -> Tuple[tuple, tuple]:
        h, w = meta.get('img_shape', input_size)[:2]
        if self.test_cfg['output_size'] == 'input':
            return (0, h, 0, w), (h, w)
        return content_box(meta, input_size), tuple(meta['ori_shape'][:2])

    def postprocess_result(self, seg_logits: Tensor, data_samples: List,
                           input_size: Optional[Tuple[int, int]] = None) -> List:
        """Bring B x 1 x h x w logits to each sample's output size and threshold them.

        Samples sharing crop box and output size are resized together on the logits'
        device.

        Args:
            seg_logits (Tensor): B, 1, h, w.
            data_samples (list[SegDataSample]): Their metainfo gives the geometry.
            input_size (tuple, optional): The network input (H, W). Defaults to
                ``batch_input_shape`` of the first sample.

        Returns:
            list[SegDataSample]: ``data_samples`` with ``seg_logits`` and ``pred_sem_seg``.
        """
        input_size = tuple(input_size or data_samples[0].metainfo['batch_input_shape'])
        cfg = self.test_cfg
        post = dict(threshold=cfg['threshold'], output_size=cfg['output_size'],
                    undo_resize=cfg['undo_resize'])
        for sample in data_samples:
            sample.set_metainfo(dict(postprocess=post))
        if cfg['undo_resize'] == 'cris':
            return self._postprocess_cris(seg_logits, data_samples, input_size)
        direct = cfg['undo_resize'] == 'direct'
        logits = seg_logits if direct else F.interpolate(
            seg_logits, input_size, mode='bilinear', align_corners=self.align_corners)
        groups = defaultdict(list)  # B, 1, H, W (direct: h, w)
        for i, sample in enumerate(data_samples):
            box, size = self._crop_and_size(sample.metainfo, input_size)
            if direct:
                require_unpadded(sample.metainfo, input_size, 'test_cfg.undo_resize="direct"',
                                 box)
            groups[(box, size)].append(i)
        thr = cfg['threshold']
        for ((y0, y1, x0, x1), size), idx in groups.items():
            out = logits[idx] if direct else logits[idx, :, y0:y1, x0:x1]
            if out.shape[-2:] != size:
                out = F.interpolate(out, size, mode='bilinear', align_corners=self.align_corners)
            pred = (out.sigmoid() > thr).long()  # n, 1, h_o, w_o
            for j, i in enumerate(idx):
                data_samples[i].set_data(dict(seg_logits=PixelData(data=out[j]),
                                              pred_sem_seg=PixelData(data=pred[j])))
        return data_samples

    def _postprocess_cris(self, seg_logits: Tensor, data_samples: List,
                          input_size: Tuple[int, int]) -> List:
        """CRIS's test: probabilities bicubic to the input, warped back bicubic, ``> thr``.
        ``seg_logits`` holds the logit of the warped probability (clamped to (0, 1))."""
        prob = F.interpolate(seg_logits.float().sigmoid(), input_size, mode='bicubic',
                             align_corners=True)  # B, 1, H, W
        prob_np = prob[:, 0].detach().cpu().numpy()
        for i, sample in enumerate(data_samples):
            h, w = sample.metainfo['ori_shape'][:2]
            img_hw = sample.metainfo.get('img_shape', input_size)[:2]
            mat = cris_affine((h, w), img_hw, inverse=True)
            p = cv2.warpAffine(prob_np[i], mat, (w, h), flags=cv2.INTER_CUBIC, borderValue=0.)
            p = torch.from_numpy(np.ascontiguousarray(p))[None].to(seg_logits.device)  # 1, h, w
            pred = (p > self.test_cfg['threshold']).long()
            sample.set_data(dict(seg_logits=PixelData(data=torch.logit(p.clamp(1e-6, 1 - 1e-6))),
                                 pred_sem_seg=PixelData(data=pred)))
        return data_samples

    def aug_test(self, inputs, batch_img_metas):
        """Not supported."""
        raise NotImplementedError('test-time augmentation is not supported')
