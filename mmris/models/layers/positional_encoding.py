"""Fixed sine-cosine positional encodings used by the CRIS decoder."""
import math

import torch
from torch import Tensor


def _sine_table(positions: Tensor, dims: int) -> Tensor:
    """L positions -> L, dims with sin on even and cos on odd channels."""
    freq = torch.exp(torch.arange(0, dims, 2, dtype=torch.float32, device=positions.device)
                     * (-math.log(10000.0) / dims))
    angles = positions.float()[:, None] * freq[None]  # L, dims / 2
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)  # L, dims


def sine_pos_1d(dims: int, length: int, device=None) -> Tensor:
    """1-D sine positions of a word sequence.

    Args:
        dims (int): Channels, even.
        length (int): Sequence length L.
        device (torch.device, optional): Device of the result.

    Returns:
        Tensor: L, dims.
    """
    if dims % 2:
        raise ValueError(f'sine positions need an even width, got {dims}')
    return _sine_table(torch.arange(length, device=device), dims)


def sine_pos_2d(dims: int, height: int, width: int, device=None) -> Tensor:
    """2-D sine positions of a pixel grid, row-major (``h * W + w``).

    The first half of the channels encodes the column (x), the second half the row (y),
    each as interleaved sin / cos.

    Args:
        dims (int): Channels, a multiple of 4.
        height (int): Grid height H.
        width (int): Grid width W.
        device (torch.device, optional): Device of the result.

    Returns:
        Tensor: H * W, dims.
    """
    if dims % 4:
        raise ValueError(f'2-D sine positions need a width divisible by 4, got {dims}')
    half = dims // 2
    pos_x = _sine_table(torch.arange(width, device=device), half)  # W, dims / 2
    pos_y = _sine_table(torch.arange(height, device=device), half)  # H, dims / 2
    pos = torch.cat([pos_x[None].expand(height, -1, -1),
                     pos_y[:, None].expand(-1, width, -1)], dim=-1)  # H, W, dims
    return pos.flatten(0, 1)
