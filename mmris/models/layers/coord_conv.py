"""CoordConv: a convolution that also sees the normalised pixel coordinates."""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from mmris.registry import MODELS


def add_coord(x: Tensor) -> Tensor:
    """Append x and y coordinate channels in [-1, 1] (x first).

    Args:
        x (Tensor): B, C, H, W.

    Returns:
        Tensor: B, C + 2, H, W.
    """
    B, _, H, W = x.shape
    ys = torch.linspace(-1, 1, H, device=x.device, dtype=x.dtype)
    xs = torch.linspace(-1, 1, W, device=x.device, dtype=x.dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')  # H, W
    coord = torch.stack([grid_x, grid_y])[None].expand(B, -1, -1, -1)  # B, 2, H, W
    return torch.cat([x, coord], dim=1)


@MODELS.register_module()
class CoordConv(nn.Module):
    """Conv-norm-act over the input with two coordinate channels appended.

    Args:
        in_channels (int): Input channels (without the coordinates).
        out_channels (int): Output channels.
        kernel_size (int): Kernel size. Defaults to 3.
        padding (int): Padding. Defaults to 1.
        stride (int): Stride. Defaults to 1.
        norm_cfg (dict): Norm layer config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 3,
                 padding: int = 1,
                 stride: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU')) -> None:
        super().__init__()
        self.conv = ConvModule(in_channels + 2, out_channels, kernel_size, stride, padding,
                               norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """B, C, H, W -> B, out_channels, H', W'."""
        return self.conv(add_coord(x))
