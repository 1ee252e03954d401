"""DETRIS's neck: three levels projected to one scale, each gated by the sentence, merged."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..layers import CoordConv, MultiheadAttention
from ..utils.text_features import TextFeatures


@MODELS.register_module()
class GatedAggregationNeck(BaseModule):
    """The neck of DETRIS (``model/layers.py: Neck``), for ViT levels at one stride.

    v3: conv(k = s, stride s) - BN - ReLU (s = ``strides[0]``); v4: the same with
    ``strides[1]``; v5: transposed conv(k = s, stride s) - BN - ReLU, all to ``channels``.
    The sentence goes through a Linear to ``channels``; each level is multiplied by its own
    attention output over that single sentence token (DETRIS's CrossAttn: with one key the
    softmax is 1, so the gate is ``out_proj(v_proj(sentence))``, the same for every pixel).
    The three gated maps are concatenated, aggregated (1x1 conv-BN-ReLU) and refined
    residually: ``f = f + conv3x3(CoordConv(f))``. With ``strides=(1, 1, 1)`` (DINOv2) the
    output has the input's size, e.g. B x 512 x 32 x 32 at 448.

    Args:
        in_channels (Sequence[int]): Channels of v3, v4, v5. Defaults to (1024,) * 3.
        channels (int): Output width. Defaults to 512.
        sentence_dim (int): Width of the sentence vector. Defaults to 512.
        strides (Sequence[int]): Down (v3, v4) / up (v5) factors. Defaults to (1, 1, 1).
        num_heads (int): Heads of the gates' attention. Defaults to 8.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """
    takes_text = True

    def __init__(self,
                 in_channels: Sequence[int] = (1024, 1024, 1024),
                 channels: int = 512,
                 sentence_dim: int = 512,
                 strides: Sequence[int] = (1, 1, 1),
                 num_heads: int = 8,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        (c3, c4, c5), (s3, s4, s5) = in_channels, strides
        kw = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.f3_proj = ConvModule(c3, channels, s3, s3, **kw)
        self.f4_proj = ConvModule(c4, channels, s4, s4, **kw)
        self.f5_proj = ConvModule(c5, channels, s5, s5, conv_cfg=dict(type='deconv'), **kw)
        self.txt_proj = nn.Linear(sentence_dim, channels)
        self.gates = nn.ModuleList([MultiheadAttention(channels, num_heads) for _ in range(3)])
        self.aggr = ConvModule(3 * channels, channels, 1, **kw)
        self.coord_conv = CoordConv(channels, channels, 3, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.out_conv = ConvModule(channels, channels, 3, padding=1, **kw)

    def forward(self, inputs: Tuple[Tensor, ...], text: TextFeatures) -> Tensor:
        """
        Args:
            inputs (tuple[Tensor]): v3, v4, v5 (e.g. 3 x B, 1024, 32, 32).
            text (TextFeatures): uses ``text.sentence`` (B, sentence_dim).

        Returns:
            Tensor: B, channels, h, w (e.g. B, 512, 32, 32).
        """
        sent = self.txt_proj(text.sentence)[:, None]  # B, 1, C
        fs = []
        for proj, gate, v in zip((self.f3_proj, self.f4_proj, self.f5_proj), self.gates,
                                 inputs[:3]):
            f = proj(v)  # B, C, h, w
            B, C, h, w = f.shape
            q = f.flatten(2).transpose(1, 2)  # B, hw, C
            g = q * gate(q, sent, sent)  # B, hw, C
            fs.append(g.transpose(1, 2).reshape(B, C, h, w))
        f = self.aggr(torch.cat(fs, dim=1))  # B, C, h, w
        return f + self.out_conv(self.coord_conv(f))  # B, C, h, w
