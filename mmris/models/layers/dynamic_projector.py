"""Dynamic-convolution projector: queries become conv kernels over upsampled pixels."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS


@MODELS.register_module()
class DynamicProjector(BaseModule):
    """Upsample the pixel features and convolve them with kernels made from queries.

    Pixels: ``num_upsample`` times (bilinear x2, 3x3 conv-BN-ReLU), the last conv going to
    ``channels``, then a 1x1 conv. Queries: one Linear to a ``channels x k x k`` kernel plus a
    bias each. A query of shape B x Cq gives one mask (CRIS); B x N x Cq gives N masks, one per
    query (EAVL / MMNet's multi-mask projector). All kernels of the batch run as one grouped
    convolution. ``kernel_act_cfg`` puts an activation on the kernel and bias values
    (MMNet's eq. 14: F_pn = relu(W_p F_qn)).

    Args:
        in_channels (int): Pixel channels in. Defaults to 512.
        channels (int): Pixel channels the kernels act on. Defaults to 256.
        query_dim (int): Query width. Defaults to 1024.
        kernel_size (int): Dynamic kernel size. Defaults to 3.
        num_upsample (int): x2 upsampling steps. Defaults to 2.
        norm_cfg (dict): Norm config of the convs. Defaults to BN.
        act_cfg (dict): Activation config of the convs. Defaults to ReLU.
        kernel_act_cfg (dict, optional): Activation on the kernel parameters. Defaults to
            None (none, as CRIS).
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 512,
                 channels: int = 256,
                 query_dim: int = 1024,
                 kernel_size: int = 3,
                 num_upsample: int = 2,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 kernel_act_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.channels = channels
        self.kernel_size = kernel_size
        layers = []
        for i in range(num_upsample):
            out = channels if i == num_upsample - 1 else in_channels
            layers += [nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
                       ConvModule(in_channels, out, 3, padding=1,
                                  norm_cfg=norm_cfg, act_cfg=act_cfg)]
            in_channels = out
        layers.append(nn.Conv2d(in_channels, channels, 1))
        self.pixel_proj = nn.Sequential(*layers)
        self.kernel_proj = nn.Linear(query_dim, channels * kernel_size**2 + 1)
        self.kernel_act = build_activation_layer(kernel_act_cfg) if kernel_act_cfg \
            else nn.Identity()

    def forward(self, x: Tensor, queries: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): B, C, h, w pixel features (e.g. B, 512, 26, 26).
            queries (Tensor): B, Cq (one mask) or B, N, Cq (N masks).

        Returns:
            Tensor: B, N, H, W mask logits, N = 1 for B x Cq queries (e.g. B, 1, 104, 104).
        """
        x = self.pixel_proj(x)  # B, c, H, W
        B, C, H, W = x.shape
        if queries.dim() == 2:
            queries = queries[:, None]  # B, 1, Cq
        N = queries.shape[1]
        params = self.kernel_act(self.kernel_proj(queries)).flatten(0, 1)  # B*N, c*k*k + 1
        weight = params[:, :-1].reshape(B * N, C, self.kernel_size, self.kernel_size)
        bias = params[:, -1]
        if torch.onnx.is_in_onnx_export():
            # ONNX's Conv has a fixed group count, so a dynamic batch cannot be the groups:
            # the same product as im2col + matmul (mmris.deployment)
            k = self.kernel_size
            cols = F.unfold(x, k, padding=k // 2)  # B, c*k*k, H*W
            out = weight.reshape(B, N, C * k * k) @ cols + bias.reshape(B, N, 1)
            return out.reshape(B, N, H, W)
        # group b: the N kernels of sample b over its C channels
        out = F.conv2d(x.reshape(1, B * C, H, W), weight, bias,
                       padding=self.kernel_size // 2, groups=B)  # 1, B*N, H, W
        return out.reshape(B, N, H, W)
