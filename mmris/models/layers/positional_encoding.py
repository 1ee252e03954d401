"""Fixed sine-cosine positional encodings (CRIS decoder, query / pixel decoders)."""
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


def sine_pos_2d(dims: int, height: int, width: int, device=None,
                normalize: bool = False) -> Tensor:
    """2-D sine positions of a pixel grid, row-major (``h * W + w``).

    Default: the first half of the channels encodes the column index x, the second half
    the row index y (0 .. n - 1), each as interleaved sin / cos.

    ``normalize=True`` computes DETR / Mask2Former's ``PositionEmbeddingSine(dims // 2,
    normalize=True)`` (MagNet's decoders) instead: the row half first, then the column
    half, the positions ``(i + 1) / (n + 1e-6) * 2 pi`` (i = 0 .. n - 1). The frequencies
    are the same (``10000 ** (-2k / (dims / 2))`` for the channel pair k).

    Args:
        dims (int): Channels, a multiple of 4.
        height (int): Grid height H.
        width (int): Grid width W.
        device (torch.device, optional): Device of the result.
        normalize (bool): DETR's normalised form (see above). Defaults to False.

    Returns:
        Tensor: H * W, dims.
    """
    if dims % 4:
        raise ValueError(f'2-D sine positions need a width divisible by 4, got {dims}')
    half = dims // 2
    ys, xs = (torch.arange(n, dtype=torch.float32, device=device) for n in (height, width))
    if normalize:  # DETR: cumsum of ones (i + 1) / (its last value + eps) * scale
        ys, xs = ((p + 1) / (n + 1e-6) * (2 * math.pi) for p, n in ((ys, height), (xs, width)))
    pos_x = _sine_table(xs, half)[None].expand(height, -1, -1)  # H, W, dims / 2
    pos_y = _sine_table(ys, half)[:, None].expand(-1, width, -1)  # H, W, dims / 2
    halves = (pos_y, pos_x) if normalize else (pos_x, pos_y)
    return torch.cat(halves, dim=-1).flatten(0, 1)  # H * W, dims
