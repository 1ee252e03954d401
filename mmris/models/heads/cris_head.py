"""CRIS head: vision-language decoder + dynamic-conv projector + BCE loss."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmris.registry import MODELS
from ..layers import DynamicProjector, VLDecoder
from ..utils.text_features import TextFeatures


def check_loss_resolution(value: str) -> str:
    """``value`` if it is a valid ``loss_resolution`` of the CRIS-style heads."""
    if value not in ('logits', 'input'):
        raise ValueError(f"loss_resolution must be 'logits' or 'input', got {value!r}")
    return value


@MODELS.register_module()
class CRISHead(BaseDecodeHead):
    """Decoder (pixels attend to words), projector (the sentence as a 3x3 kernel), loss.

    Input: the neck's B x C x h x w map and the text features; output: B x 1 x 4h x 4w mask
    logits (104 x 104 at a 416 input). With ``loss_resolution='logits'`` (CRIS's code) the
    loss compares them with the ground truth resized (nearest) to the logits' size; with
    ``'input'`` the logits are resized (bilinear, as at inference) to the ground truth's size
    instead, as LAVT does. The nearest-resized target is blocky at stride 4: on small objects
    it caps what the upsampled prediction can reach (on the toy data a perfect stride-4
    prediction of it scores oIoU 75.6, against 92.6 for the area-averaged mask).
    ``ignore_index`` pixels (e.g. the preprocessor's padding) are left out of the loss but
    count in the mean's denominator, as mmseg's BCE does.

    Args:
        in_channels (int): Channels of the neck output (decoder width). Defaults to 512.
        channels (int): Channels of the projector's pixel embedding. Defaults to 256.
        sentence_dim (int): Width of the sentence vector. Defaults to 1024.
        text_dims (int, optional): Width of the word features. Defaults to ``in_channels``.
        num_layers (int): Decoder layers (0: no decoder). Defaults to 3.
        num_heads (int): Decoder heads. Defaults to 8.
        feedforward_channels (int): Decoder FFN width. Defaults to 2048.
        dropout (float): Decoder dropout. Defaults to 0.1.
        kernel_size (int): Dynamic kernel size. Defaults to 3.
        loss_decode (dict | Sequence[dict]): Loss config(s). Defaults to mmseg's
            ``CrossEntropyLoss(use_sigmoid=True)``.
        norm_cfg (dict): Norm config of the projector convs. Defaults to BN.
        ignore_index (int): Label ignored by the loss. Defaults to 255.
        threshold (float): Sigmoid threshold of the ``iou_seg`` training log. Defaults to 0.35.
        loss_resolution (str): ``'logits'`` (target resized to the logits, CRIS) or
            ``'input'`` (logits resized to the target). Defaults to ``'logits'``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 512,
                 channels: int = 256,
                 sentence_dim: int = 1024,
                 text_dims: Optional[int] = None,
                 num_layers: int = 3,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.1,
                 kernel_size: int = 3,
                 loss_decode: Union[dict, Sequence[dict]] = dict(
                     type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 norm_cfg: dict = dict(type='BN'),
                 ignore_index: int = 255,
                 threshold: float = 0.35,
                 loss_resolution: str = 'logits',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(in_channels, channels, num_classes=1, out_channels=1,
                         threshold=threshold, dropout_ratio=0, norm_cfg=norm_cfg,
                         loss_decode=loss_decode, ignore_index=ignore_index, init_cfg=init_cfg)
        del self.conv_seg  # the projector classifies
        self.loss_resolution = check_loss_resolution(loss_resolution)
        self.decoder = VLDecoder(num_layers, in_channels, num_heads, feedforward_channels,
                                 dropout, text_dims) if num_layers > 0 else None
        self.projector = DynamicProjector(in_channels, channels, sentence_dim, kernel_size,
                                          norm_cfg=norm_cfg)

    def forward(self, x: Tensor, text: TextFeatures) -> Tensor:
        """
        Args:
            x (Tensor): B, C, h, w (e.g. B, 512, 26, 26).
            text (TextFeatures): words B, L, D; mask B, L; sentence B, Ds.

        Returns:
            Tensor: B, 1, 4h, 4w logits (e.g. B, 1, 104, 104).
        """
        if self.decoder is not None:
            x = self.decoder(x, text.words, text.mask)  # B, 512, 26, 26
        return self.projector(x, text.sentence)  # B, 1, 104, 104

    def loss(self, x: Tensor, text: TextFeatures, batch_data_samples: List,
             train_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
        """Forward and compute the losses.

        Args:
            x (Tensor): Neck output.
            text (TextFeatures): Text features.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg`` (1, H, W).
            train_cfg (dict, optional): Unused.

        Returns:
            dict[str, Tensor]: losses and the ``iou_seg`` log.
        """
        return self.loss_by_feat(self.forward(x, text), batch_data_samples)

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples: List) -> Dict[str, Tensor]:
        """Losses of B x 1 x h x w logits against the ground truth resized to h x w."""
        gt = self._stack_batch_gt(batch_data_samples).float()  # B, 1, H, W
        if self.loss_resolution == 'input':
            seg_logits = F.interpolate(seg_logits, gt.shape[-2:], mode='bilinear',
                                       align_corners=self.align_corners)  # B, 1, H, W
        target = F.interpolate(gt, seg_logits.shape[-2:], mode='nearest')[:, 0].long()
        losses = {}
        loss_decodes = self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) \
            else [self.loss_decode]
        for loss_decode in loss_decodes:
            name = loss_decode.loss_name
            loss = loss_decode(seg_logits, target, ignore_index=self.ignore_index)
            losses[name] = losses[name] + loss if name in losses else loss
        with torch.no_grad():
            valid = target != self.ignore_index
            pred = (seg_logits[:, 0].sigmoid() > self.threshold) & valid
            gt_fg = (target == 1) & valid
            inter = (pred & gt_fg).flatten(1).sum(1)
            union = (pred | gt_fg).flatten(1).sum(1)
            losses['iou_seg'] = (inter / union.clamp(min=1)).mean() * 100
        return losses

    def predict(self, x: Tensor, text: TextFeatures, batch_img_metas: Optional[List] = None,
                test_cfg: Optional[dict] = None) -> Tensor:
        """Logits at the head's resolution; the segmentor post-processes them."""
        return self.forward(x, text)
