"""LAVT's decoder: top-down fusion of the four (language-fused) Swin stage maps."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmris.registry import MODELS
from ..utils.text_features import TextFeatures


@MODELS.register_module()
class LAVTHead(BaseDecodeHead):
    """LAVT's simple decoding: from stride 32 down to stride 4, each step upsamples
    (bilinear, align_corners) to the next finer stage, concatenates it and applies two
    3x3 conv-BN-ReLU; a 1x1 conv gives the logits at stride 4.

    LAVT's classifier has two classes (background, object) with a softmax; this head has one
    logit, their difference, which gives the same probability (``softmax(z)[1] =
    sigmoid(z1 - z0)``); ``tools/model_converters/lavt2mmris.py`` converts the weights. The
    loss is LAVT's weighted cross-entropy (background 0.9, object 1.1, normalised by the
    summed weights) on the logits upsampled to the target's size.

    Args:
        in_channels (Sequence[int]): Channels of the stage maps, fine to coarse.
            Defaults to Swin-B's (128, 256, 512, 1024).
        channels (int, optional): Decoder width. Defaults to ``in_channels[-1] // 2``.
        class_weight (Sequence[float]): Loss weights of background and object.
            Defaults to (0.9, 1.1).
        loss_weight (float): Weight of the mask loss. Defaults to 1.0.
        norm_cfg (dict): Norm of the convs. Defaults to BN.
        ignore_index (int): Label left out of the loss. Defaults to 255.
        threshold (float): Sigmoid threshold of the ``iou_seg`` training log. Defaults to 0.5.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512, 1024),
                 channels: Optional[int] = None,
                 class_weight: Sequence[float] = (0.9, 1.1),
                 loss_weight: float = 1.0,
                 norm_cfg: dict = dict(type='BN'),
                 ignore_index: int = 255,
                 threshold: float = 0.5,
                 init_cfg: Optional[dict] = None) -> None:
        in_channels = list(in_channels)
        channels = channels or in_channels[-1] // 2
        super().__init__(in_channels, channels, num_classes=1, out_channels=1,
                         threshold=threshold, dropout_ratio=0, norm_cfg=norm_cfg,
                         in_index=list(range(len(in_channels))),
                         input_transform='multiple_select', align_corners=True,
                         ignore_index=ignore_index, init_cfg=init_cfg)
        self.class_weight = tuple(class_weight)
        self.loss_weight = loss_weight
        fuses = []
        for i, c in enumerate(reversed(in_channels[:-1])):
            prev = in_channels[-1] if i == 0 else channels
            fuses.append(nn.Sequential(
                ConvModule(prev + c, channels, 3, padding=1, norm_cfg=norm_cfg),
                ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg)))
        self.fuses = nn.ModuleList(fuses)

    def decode(self, x: Sequence[Tensor]) -> List[Tensor]:
        """Stage maps (fine to coarse) -> the decoder's maps, coarse to fine.

        Swin-B at 480: 1024 x 15 x 15 -> 512 x 30 x 30, 512 x 60 x 60, 512 x 120 x 120.
        """
        x = self._transform_inputs(x)
        y, outs = x[-1], []
        for fuse, skip in zip(self.fuses, reversed(x[:-1])):
            y = F.interpolate(y, skip.shape[-2:], mode='bilinear', align_corners=True)
            y = fuse(torch.cat([y, skip], 1))  # B, channels, h_i, w_i
            outs.append(y)
        return outs

    def forward(self, x: Sequence[Tensor], text: Optional[TextFeatures] = None) -> Tensor:
        """Stage maps -> B, 1, H/4, W/4 logits (the text is not used)."""
        return self.cls_seg(self.decode(x)[-1])

    def mask_loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """LAVT's weighted 2-class cross-entropy on B, 1, h, w logits vs B, H, W labels."""
        logits = F.interpolate(logits, target.shape[-2:], mode='bilinear',
                               align_corners=True)[:, 0]  # B, H, W
        valid = target != self.ignore_index
        fg = (target == 1).float()
        w = torch.where(target == 1, self.class_weight[1], self.class_weight[0]) * valid
        bce = F.binary_cross_entropy_with_logits(logits, fg, reduction='none')
        return self.loss_weight * (bce * w).sum() / w.sum().clamp(min=1e-6)

    def _target(self, batch_data_samples: List) -> Tensor:
        return self._stack_batch_gt(batch_data_samples)[:, 0].long()  # B, H, W

    @torch.no_grad()
    def _iou_log(self, logits: Tensor, target: Tensor) -> Tensor:
        logits = F.interpolate(logits, target.shape[-2:], mode='bilinear', align_corners=True)
        valid = target != self.ignore_index
        pred = (logits[:, 0].sigmoid() > self.threshold) & valid
        gt = (target == 1) & valid
        inter, union = (pred & gt).flatten(1).sum(1), (pred | gt).flatten(1).sum(1)
        return (inter / union.clamp(min=1)).mean() * 100

    def loss(self, x: Sequence[Tensor], text: TextFeatures, batch_data_samples: List,
             train_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
        """``loss_mask`` and the ``iou_seg`` log."""
        return self.loss_by_feat(self.forward(x, text), batch_data_samples)

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples: List) -> Dict[str, Tensor]:
        """Losses of B x 1 x h x w logits against the targets."""
        target = self._target(batch_data_samples)
        return dict(loss_mask=self.mask_loss(seg_logits, target),
                    iou_seg=self._iou_log(seg_logits, target))

    def predict(self, x: Sequence[Tensor], text: TextFeatures,
                batch_img_metas: Optional[List] = None,
                test_cfg: Optional[dict] = None) -> Tensor:
        """Logits at stride 4; the segmentor post-processes them."""
        return self.forward(x, text)

