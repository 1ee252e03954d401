"""SAM's prompt encoder and mask decoder (``segment_anything``) prompted by a sentence
vector (EVF-SAM), with BCE + Dice on the mask at the original image size."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..backbones.sam_image_encoder import load_sam_state
from ..losses.binary_dice_loss import dice_loss
from ..utils.content_box import content_box, require_unpadded
from ..utils.text_features import TextFeatures


def text_prompt(prompt_encoder, sentence: Tensor):
    """SAM's prompts for no points, boxes or masks, with the B, C sentence vectors appended
    to the (empty) sparse prompt: sparse B, 1, C; dense B, C, h, w; positions 1, C, h, w."""
    sparse, dense = prompt_encoder(None, None, None)  # 1, 0, C; 1, C, h, w
    b = sentence.shape[0]
    sparse = torch.cat([sparse.expand(b, -1, -1).to(sentence.dtype), sentence[:, None]], 1)
    return sparse, dense.expand(b, -1, -1, -1), prompt_encoder.get_dense_pe()


def best_mask(masks: Tensor, iou: Tensor) -> Tensor:
    """B, K, h, w masks -> B, 1, h, w: the one of highest predicted IoU."""
    idx = iou.argmax(1)[:, None, None, None].expand(-1, 1, *masks.shape[-2:])
    return masks.gather(1, idx)


def decode_batch(dec, x: Tensor, pe: Tensor, sparse: Tensor, dense: Tensor):
    """``segment_anything``'s ``MaskDecoder.predict_masks`` for one prompt per image, the
    batch at once (the library repeats one image over its prompts: a batch of B images
    would become B x B): B, C, h, w images -> all 1 + 3 masks B, 4, 4h, 4w and IoUs B, 4.
    Its transformer, upscaling and MLPs; the steps in the library's order."""
    b, c, h, w = x.shape
    tokens = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight])  # 5, C
    tokens = torch.cat([tokens.expand(b, -1, -1), sparse], 1)  # B, 5 + 1, C
    hs, src = dec.transformer(x + dense, pe.expand(b, -1, -1, -1), tokens)  # B, 6, C; B, hw, C
    up = dec.output_upscaling(src.transpose(1, 2).view(b, c, h, w))  # B, C / 8, 4h, 4w
    hyper = torch.stack([mlp(hs[:, 1 + i]) for i, mlp in
                         enumerate(dec.output_hypernetworks_mlps)], 1)  # B, 4, C / 8
    masks = (hyper @ up.flatten(2)).view(b, -1, *up.shape[-2:])  # B, 4, 4h, 4w
    return masks, dec.iou_prediction_head(hs[:, 0])


def to_target_frame(logits: Tensor, meta: dict, size, direct: bool = False) -> Tensor:
    """1, 1, h, w logits -> 1, 1, *size: upsampled to the network input, and, when ``size``
    is not the input's, the resize undone (content ``img_shape`` minus ``pad_param``
    cropped) and resized to ``size`` (the original image: SAM's ``postprocess_masks``).
    ``direct``: one resize from h, w to ``size`` (EVF-SAM2's; inputs without padding)."""
    # the network input: in training mmseg's stack_batch sets img_shape to it (and
    # pad_shape to the *annotation's* shape, which is not the input's frame)
    h_in, w_in = meta.get('batch_input_shape') or meta['img_shape']
    if direct:
        require_unpadded(meta, (h_in, w_in), "SAM-2's one-step resize (direct=True)")
        return F.interpolate(logits, tuple(size), mode='bilinear', align_corners=False)
    x = F.interpolate(logits, (h_in, w_in), mode='bilinear', align_corners=False)
    if tuple(size) == (h_in, w_in):
        return x
    y0, y1, x0, x1 = content_box(meta, (h_in, w_in))
    x = x[..., y0:y1, x0:x1]
    return F.interpolate(x, tuple(size), mode='bilinear', align_corners=False)


def bce_dice_losses(logits: Tensor, data_samples: List, bce_weight: float,
                    dice_weight: float, ignore_index: int = 255,
                    direct: bool = False) -> Dict[str, Tensor]:
    """EVF-SAM's losses: per sample, the logits brought to its target's frame (the original
    image when the annotation was loaded after the resize, the network input when it was
    resized with the image), BCE (mean over the pixels) and Dice (``1 - (2|P.T| + 1e-3) /
    (|P| + |T| + 1e-3)``, EVF-SAM's ``scale=1000`` form), averaged over the samples.
    ``direct``: see :func:`to_target_frame`."""
    bce, dice = [], []
    for i, s in enumerate(data_samples):
        gt = s.gt_sem_seg.data.to(logits.device)  # 1, H, W
        x = to_target_frame(logits[i:i + 1].float(), s.metainfo, gt.shape[-2:],
                            direct)[0]  # 1, H, W
        valid = (gt != ignore_index).float()
        fg = (gt == 1).float()
        b = F.binary_cross_entropy_with_logits(x, fg, reduction='none')
        bce.append((b * valid).sum() / valid.sum().clamp(min=1))
        dice.append(dice_loss(x, fg, valid, eps=1e-3))
    return dict(loss_bce=bce_weight * torch.stack(bce).mean(),
                loss_dice=dice_weight * torch.stack(dice).mean())


@MODELS.register_module()
class SAMMaskHead(BaseModule):
    """SAM's ``PromptEncoder`` + ``MaskDecoder`` (two-way transformer) prompted by the text
    encoder's sentence vector alone: it is appended to the sparse prompt embeddings (no
    points, boxes or masks; the dense prompt is the no-mask embedding). Returns the
    low-resolution mask logits (B, 1, 4h, 4w for h x w embeddings: 256 x 256 for SAM); the
    segmentor upsamples them, crops the padding and resizes to the original image.

    Trained as EVF-SAM: the mask decoder, and of the prompt encoder only ``no_mask_embed``
    (the only part in use). The IoU head gets no gradient from the mask losses and is frozen.

    Args:
        embed_dims (int): Prompt / transformer width. Defaults to 256.
        image_embedding_size (int): Side of the image embeddings. Defaults to 64.
        input_size (int): Side of the network input. Defaults to 1024.
        depth (int): Two-way transformer layers. Defaults to 2.
        num_heads (int): Defaults to 8.
        mlp_dims (int): Defaults to 2048.
        iou_head_hidden_dims (int): Defaults to 256.
        multimask_output (bool): Three masks, the one of highest predicted IoU kept
            (EVF-SAM2's choice); False: SAM's single-mask output (EVF-SAM). Defaults to False.
        frozen (bool): Freeze prompt encoder and decoder (EVF-SAM2). Defaults to False.
        bce_weight (float): Defaults to 1.0 (EVF-SAM's paper, sec. 4.2).
        dice_weight (float): Defaults to 1.0 (EVF-SAM's paper; LISA's train_ds.py, the
            authors' code base, defaults to BCE 2.0 + Dice 0.5).
        pretrained (str, optional): Local SAM checkpoint; its ``prompt_encoder.*`` and
            ``mask_decoder.*`` load strictly in :meth:`init_weights`.
        init_cfg (dict, optional): Initialization config.
    """

    align_corners = False

    #: checkpoint prefix of the prompt encoder / mask decoder keys ('sam_' for SAM-2)
    ckpt_prefix = ''
    #: decoder outputs that no mask loss reaches (kept frozen)
    no_grad = ('mask_decoder.iou_prediction_head', )
    #: extra ``MaskDecoder`` arguments (SAM-2's flags)
    decoder_flags: dict = {}
    #: the loss brings the logits to the target in one resize (EVF-SAM2), not SAM's
    #: upsample-crop-resize
    direct_resize = False

    def __init__(self,
                 embed_dims: int = 256,
                 image_embedding_size: int = 64,
                 input_size: int = 1024,
                 depth: int = 2,
                 num_heads: int = 8,
                 mlp_dims: int = 2048,
                 iou_head_hidden_dims: int = 256,
                 multimask_output: bool = False,
                 frozen: bool = False,
                 bce_weight: float = 1.0,
                 dice_weight: float = 1.0,
                 pretrained: Optional[str] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        PromptEncoder, MaskDecoder, TwoWayTransformer = self.library()
        self.prompt_encoder = PromptEncoder(
            embed_dim=embed_dims, image_embedding_size=(image_embedding_size,) * 2,
            input_image_size=(input_size,) * 2, mask_in_chans=16)
        self.mask_decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=depth, embedding_dim=embed_dims,
                                          mlp_dim=mlp_dims, num_heads=num_heads),
            transformer_dim=embed_dims, iou_head_depth=3,
            iou_head_hidden_dim=iou_head_hidden_dims, **self.decoder_flags)
        self.multimask_output = multimask_output
        self.weights = (bce_weight, dice_weight)
        self.pretrained = pretrained
        freeze(self, frozen, self.no_grad)

    @staticmethod
    def library() -> tuple:
        """The library's ``PromptEncoder``, ``MaskDecoder``, ``TwoWayTransformer``."""
        from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer
        return PromptEncoder, MaskDecoder, TwoWayTransformer

    def init_weights(self) -> None:
        if self.pretrained:
            for name in ('prompt_encoder', 'mask_decoder'):
                getattr(self, name).load_state_dict(
                    load_sam_state(self.pretrained, f'{self.ckpt_prefix}{name}.'))
            print_log(f'{type(self).__name__}: weights from {self.pretrained}',
                      logger='current')

    def forward(self, x, text: TextFeatures) -> Tensor:
        """B, C, h, w image embeddings + B, C sentence vectors -> B, 1, 4h, 4w logits."""
        x = x[-1] if isinstance(x, (list, tuple)) else x
        sparse, dense, pe = text_prompt(self.prompt_encoder, text.sentence)
        masks, iou = decode_batch(self.mask_decoder, x, pe, sparse, dense)  # B, 4, ..; B, 4
        if self.multimask_output:
            return best_mask(masks[:, 1:], iou[:, 1:])
        return masks[:, :1]

    def loss(self, x, text: TextFeatures, batch_data_samples: List,
             train_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
        """``loss_bce`` and ``loss_dice`` on the mask at each target's size."""
        return bce_dice_losses(self.forward(x, text), batch_data_samples, *self.weights,
                               direct=self.direct_resize)

    def predict(self, x, text: TextFeatures, *args, **kwargs) -> Tensor:
        return self.forward(x, text)


def freeze(head: BaseModule, frozen: bool, no_grad: Sequence[str]) -> None:
    """Freeze the whole head, or (trainable) the prompt encoder but ``no_mask_embed`` and
    the ``no_grad`` modules (outputs no loss reaches)."""
    for name, p in head.named_parameters():
        trainable = not frozen and not any(name.startswith(n) for n in no_grad) and (
            not name.startswith('prompt_encoder') or 'no_mask_embed' in name)
        p.requires_grad_(trainable)


__all__ = ['SAMMaskHead', 'decode_batch', 'text_prompt', 'best_mask', 'to_target_frame',
           'bce_dice_losses', 'freeze']
