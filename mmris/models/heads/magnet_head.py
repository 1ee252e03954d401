"""MagNet head: deformable pixel decoder + single-query Mask2Former decoder + losses."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..layers.pixel_decoder import MSDeformAttnPixelDecoder
from ..layers.query_decoder import QueryDecoder
from ..losses.binary_dice_loss import dice_loss
from ..utils.text_features import TextFeatures
from .cris_head import check_loss_resolution


@MODELS.register_module()
class MagNetHead(BaseModule):
    """MagNet's decoder on the CAM-fused Swin maps.

    1. :class:`MSDeformAttnPixelDecoder` over the four maps (stride 4 .. 32): mask features
       (B, C, H/4, W/4) and the encoded maps.
    2. A :class:`QueryDecoder` with one query over the three coarsest encoded maps
       (masked attention, ``num_layers`` layers), a class score per state
       (``Linear(C, 2)`` on the normed query ``LN(q)``, as Mask2Former's ``class_embed``:
       background / object, ``num_classes + 1``).
    3. Output: the query's mask logits; with ``use_class_score`` the probability
       ``softmax(class)[object] * sigmoid(mask)`` returned as logits. MagNet's semantic
       inference takes its softmax over the queries (one), which makes the class factor 1:
       its config sets ``use_class_score=False``. Threshold 0.5 at test time.

    Losses on every decoder state (deep supervision) [chosen: Mask2Former's weights]:
    BCE x ``mask_weight`` + Dice x ``dice_weight`` on the mask and cross-entropy (target
    "object") x ``class_weight`` on the class score; plus the Cross-modal Alignment Loss on
    the mask features and the projected sentence vector (``loss_cal``). With
    ``loss_resolution='logits'`` the mask losses compare the H/4 logits with the ground
    truth resized (nearest) to their size; with ``'input'`` the logits are resized
    (bilinear, as at inference) to the ground truth's size instead, as Mask2Former's point
    loss (full-resolution targets) effectively does. The nearest-resized target is blocky
    at stride 4: on small objects it caps what the upsampled prediction can reach (on the
    toy data a perfect stride-4 prediction of it scores oIoU 75.6, against 92.6 for the
    area-averaged mask).

    Args:
        in_channels (Sequence[int]): Map channels, fine to coarse.
            Defaults to (128, 256, 512, 1024).
        sentence_dims (int): Width of the sentence vector. Defaults to 768.
        embed_dims (int): Decoder width. Defaults to 256.
        pixel_layers (int): Pixel decoder layers. Defaults to 4.
        num_layers (int): Query decoder layers (MagNet: DEC_LAYERS 10 -> 9). Defaults to 9.
        num_heads (int): Heads. Defaults to 8.
        feedforward_channels (int): Query decoder FFN width. Defaults to 2048.
        pixel_feedforward_channels (int): Pixel decoder FFN width. Defaults to 1024.
        pixel_points (int): Sampling points per head and level of the pixel decoder's
            deformable attention (MagNet: 4). On CPU its PyTorch path costs in proportion
            (the toy config takes 2). Defaults to 4.
        pixel_encoder_levels (int, optional): How many of the coarsest maps the pixel
            decoder's deformable layers encode, the finer ones joining by an FPN step (see
            :class:`MSDeformAttnPixelDecoder`). MagNet: all four (None); Mask2Former's
            default: 3 (the toy config, for CPU time). Defaults to None.
        normalize_pos (bool): DETR's normalised sine positions in both decoders (as
            MagNet's ``PositionEmbeddingSine(normalize=True)``), see :func:`sine_pos_2d`.
            Defaults to True.
        use_class_score (bool): Multiply the mask by the object probability. Defaults to True.
        mask_weight (float): BCE weight. Defaults to 5.
        dice_weight (float): Dice weight. Defaults to 5.
        class_weight (float): Class CE weight. Defaults to 2.
        loss_cal (dict, optional): ``CrossModalAlignmentLoss`` config; None: none.
        ignore_index (int): Ignored label. Defaults to 255.
        loss_resolution (str): ``'logits'`` (target resized to the logits) or ``'input'``
            (logits resized to the target). Defaults to ``'input'``.
        align_corners (bool): ``align_corners`` of the bilinear upsampling of the logits
            (the segmentor's post-processing and ``loss_resolution='input'``); MagNet's
            ``test.py``: True. Defaults to False.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512, 1024),
                 sentence_dims: int = 768,
                 embed_dims: int = 256,
                 pixel_layers: int = 4,
                 num_layers: int = 9,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 pixel_feedforward_channels: int = 1024,
                 pixel_points: int = 4,
                 pixel_encoder_levels: Optional[int] = None,
                 normalize_pos: bool = True,
                 use_class_score: bool = True,
                 mask_weight: float = 5.,
                 dice_weight: float = 5.,
                 class_weight: float = 2.,
                 loss_cal: Optional[dict] = dict(type='CrossModalAlignmentLoss'),
                 ignore_index: int = 255,
                 loss_resolution: str = 'input',
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.use_class_score = use_class_score
        self.weights = (mask_weight, dice_weight, class_weight)
        self.ignore_index = ignore_index
        self.loss_resolution = check_loss_resolution(loss_resolution)
        self.align_corners = align_corners
        self.pixel_decoder = MSDeformAttnPixelDecoder(
            in_channels, embed_dims, embed_dims, pixel_layers, num_heads, pixel_points,
            feedforward_channels=pixel_feedforward_channels, normalize_pos=normalize_pos,
            num_encoder_levels=pixel_encoder_levels)
        self.query_decoder = QueryDecoder([embed_dims] * 3, embed_dims, 1, num_layers,
                                          num_heads, feedforward_channels,
                                          normalize_pos=normalize_pos)
        self.class_embed = nn.Linear(embed_dims, 2)
        self.sentence_proj = nn.Linear(sentence_dims, embed_dims)
        self.cal = MODELS.build(loss_cal) if loss_cal else None

    def forward_all(self, x: Sequence[Tensor]):
        """Maps -> (per state: mask logits B, 1, H/4, W/4 and class logits B, 2; mask
        features)."""
        pixel, maps = self.pixel_decoder(x)  # B, C, H/4, W/4; coarse to fine
        preds = self.query_decoder(maps[:3], pixel)
        classes = [self.class_embed(p['queries'][:, 0]) for p in preds]  # B, 2
        return [p['masks'] for p in preds], classes, pixel

    def forward(self, x: Sequence[Tensor], text: TextFeatures) -> Tensor:
        """Maps + text -> B, 1, H/4, W/4 mask logits (of the object probability with
        ``use_class_score``)."""
        masks, classes, _ = self.forward_all(x)
        if not self.use_class_score:
            return masks[-1]
        prob = classes[-1].softmax(-1)[:, 1, None, None, None] * masks[-1].sigmoid()
        return torch.logit(prob, eps=1e-6)

    def loss(self, x: Sequence[Tensor], text: TextFeatures, batch_data_samples: List,
             train_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
        """``loss_mask``/``loss_dice``/``loss_cls`` (``_d{i}`` for earlier states),
        ``loss_p2p``, ``loss_p2t``, ``iou_seg``."""
        masks, classes, pixel = self.forward_all(x)
        gt = torch.stack([s.gt_sem_seg.data[0] for s in batch_data_samples])  # B, H, W
        if self.loss_resolution == 'input':
            masks = [F.interpolate(m, gt.shape[-2:], mode='bilinear',
                                   align_corners=self.align_corners) for m in masks]
        target = F.interpolate(gt[:, None].float(), masks[-1].shape[-2:],
                               mode='nearest')[:, 0]  # B, h, w (H, W with 'input')
        valid = (target != self.ignore_index).float()
        fg = (target == 1).float()
        wm, wd, wc = self.weights
        obj = torch.ones(gt.shape[0], dtype=torch.long, device=gt.device)
        losses = {}
        for i, (m, c) in enumerate(zip(masks, classes)):
            s = '' if i == len(masks) - 1 else f'_d{i}'
            bce = F.binary_cross_entropy_with_logits(m[:, 0], fg, reduction='none')
            losses[f'loss_mask{s}'] = wm * (bce * valid).sum() / valid.sum().clamp(min=1)
            losses[f'loss_dice{s}'] = wd * dice_loss(m[:, 0], fg, valid)
            losses[f'loss_cls{s}'] = wc * F.cross_entropy(c, obj)
        if self.cal is not None:
            losses['loss_p2p'], losses['loss_p2t'] = self.cal(
                pixel, self.sentence_proj(text.sentence), gt.long())  # resized to the pixels
        with torch.no_grad():
            pred = (masks[-1][:, 0] > 0) & (valid > 0)
            inter = (pred & (fg > 0)).flatten(1).sum(1)
            union = (pred | (fg > 0)).flatten(1).sum(1)
            losses['iou_seg'] = (inter / union.clamp(min=1)).mean() * 100
        return losses

    def predict(self, x: Sequence[Tensor], text: TextFeatures, *args, **kwargs) -> Tensor:
        """Logits at the head's resolution; the segmentor post-processes them."""
        return self.forward(x, text)


__all__ = ['MagNetHead']
