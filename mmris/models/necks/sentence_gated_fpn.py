"""CRIS's cross-modal FPN: the sentence gates the top level, three levels fuse at stride 16."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..layers import CoordConv
from ..utils.text_features import TextFeatures


@MODELS.register_module()
class SentenceGatedFPN(BaseModule):
    """Sentence-gated FPN of CRIS.

    f5 = norm-act(conv1x1(v5) * Linear-BN-ReLU(sentence)); f4 = conv1x1([conv3x3(v4), up(f5)]);
    f3 = conv1x1([avgpool(conv3x3(v3)), f4]); each of f5, f4, f3 through a 3x3 conv to
    ``out_channels[1]``, concatenated (f5 upsampled), a 1x1 aggregation, CoordConv and a 3x3
    conv. Output at stride 16: B x out_channels[1] x 26 x 26 for a 416 input. The input size
    should be a multiple of 32.

    With ``gate=False`` the sentence is not used (f5 = conv1x1(v5)): MMNet's dense visual
    features of the query generator (its eq. 6). With ``return_inputs=True`` the output is
    ``(fused, *inputs)``, so that a head also sees the encoder's levels and global vector.

    Args:
        in_channels (Sequence[int]): Channels of v3, v4, v5 (strides 8, 16, 32).
            Defaults to (512, 1024, 1024) (CLIP RN50).
        out_channels (Sequence[int]): Widths of the f3 branch, of the fused levels (the
            output), and of f5 / the sentence gate. Defaults to (256, 512, 1024).
        sentence_dim (int): Width of the sentence vector. Defaults to 1024.
        gate (bool): Gate f5 with the sentence. Defaults to True.
        return_inputs (bool): Return ``(fused, *inputs)`` instead of ``fused``.
            Defaults to False.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """
    takes_text = True

    def __init__(self,
                 in_channels: Sequence[int] = (512, 1024, 1024),
                 out_channels: Sequence[int] = (256, 512, 1024),
                 sentence_dim: int = 1024,
                 gate: bool = True,
                 return_inputs: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        c3, c4, c5 = in_channels
        o3, o4, o5 = out_channels

        def conv(cin: int, cout: int, k: int) -> ConvModule:
            return ConvModule(cin, cout, k, padding=k // 2, norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.gate = gate
        self.return_inputs = return_inputs
        norm1d = dict(norm_cfg, type='BN1d') if norm_cfg['type'] == 'BN' else norm_cfg
        if gate:
            self.txt_proj = nn.Sequential(nn.Linear(sentence_dim, o5, bias=False),
                                          build_norm_layer(norm1d, o5)[1],
                                          build_activation_layer(act_cfg))
        self.f5_proj = conv(c5, o5, 1)
        if gate:
            self.f5_norm = nn.Sequential(build_norm_layer(norm_cfg, o5)[1],
                                         build_activation_layer(act_cfg))
        self.f4_proj = conv(c4, o4, 3)
        self.f4_cat = conv(o5 + o4, o4, 1)
        self.f3_proj = conv(c3, o3, 3)
        self.f3_cat = conv(o3 + o4, o4, 1)
        self.f5_out = conv(o5, o4, 3)
        self.f4_out = conv(o4, o4, 3)
        self.f3_out = conv(o4, o4, 3)
        self.aggr = conv(3 * o4, o4, 1)
        self.coord_conv = CoordConv(o4, o4, 3, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.out_conv = conv(o4, o4, 3)

    def forward(self, inputs: Tuple[Tensor, ...],
                text: Optional[TextFeatures] = None) -> Union[Tensor, Tuple[Tensor, ...]]:
        """
        Args:
            inputs (tuple[Tensor]): v3, v4, v5 (e.g. B, 512, 52, 52 / B, 1024, 26, 26 /
                B, 1024, 13, 13); further entries are ignored.
            text (TextFeatures, optional): uses ``text.sentence`` (B, sentence_dim);
                unused when ``gate=False``.

        Returns:
            Tensor | tuple[Tensor]: B, out_channels[1], H/16, W/16 (followed by ``inputs``
            when ``return_inputs``).
        """
        v3, v4, v5 = inputs[:3]
        f5 = self.f5_proj(v5)  # B, 1024, 13, 13
        if self.gate:
            gate = self.txt_proj(text.sentence)[..., None, None]  # B, 1024, 1, 1
            f5 = self.f5_norm(f5 * gate)  # B, 1024, 13, 13
        size = v4.shape[-2:]
        up5 = F.interpolate(f5, size=size, mode='bilinear', align_corners=False)
        f4 = self.f4_cat(torch.cat([self.f4_proj(v4), up5], dim=1))  # B, 512, 26, 26
        f3 = F.avg_pool2d(self.f3_proj(v3), 2, 2)  # B, 256, 26, 26
        f3 = self.f3_cat(torch.cat([f3, f4], dim=1))  # B, 512, 26, 26
        q5 = F.interpolate(self.f5_out(f5), size=size, mode='bilinear', align_corners=False)
        fq = torch.cat([self.f3_out(f3), self.f4_out(f4), q5], dim=1)  # B, 1536, 26, 26
        out = self.out_conv(self.coord_conv(self.aggr(fq)))  # B, 512, 26, 26
        return (out, ) + tuple(inputs) if self.return_inputs else out
