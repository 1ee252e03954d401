"""DETRIS's dense adapter: a low-rank bottleneck with densely connected conv branches."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS
from .attention import MultiheadAttention


class _ConvBNReLU(nn.Sequential):
    """Conv (with bias) - BN (eps 1e-3) - ReLU, 1d or 2d, as DETRIS's BasicConv1d/2d."""

    def __init__(self, dims: int, cin: int, cout: int, k: int) -> None:
        conv, bn = (nn.Conv1d, nn.BatchNorm1d) if dims == 1 else (nn.Conv2d, nn.BatchNorm2d)
        super().__init__(conv(cin, cout, k, padding=k // 2), bn(cout, eps=1e-3), nn.ReLU(True))


class TextCrossAttention(nn.Module):
    """Adapter tokens attend to the words: project both to ``embed_dims``, attend, project
    back (DETRIS's CrossModalAttention; its output replaces the tokens, no residual).

    Args:
        dims (int): Adapter width.
        text_dims (int): Word width.
        embed_dims (int): Attention width. Defaults to 128.
        num_heads (int): Heads. Defaults to 8.
        dropout (float): Attention dropout. Defaults to 0.1.
    """

    def __init__(self, dims: int, text_dims: int, embed_dims: int = 128, num_heads: int = 8,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.image_proj = nn.Linear(dims, embed_dims)
        self.text_proj = nn.Linear(text_dims, embed_dims)
        self.attn = MultiheadAttention(embed_dims, num_heads, dropout)
        self.back_proj = nn.Linear(embed_dims, dims)

    def forward(self, x: Tensor, words: Tensor) -> Tensor:
        """B, N, dims tokens and B, L, text_dims words (no padding mask, as DETRIS) ->
        B, N, dims."""
        words = self.text_proj(words)  # B, L, E
        return self.back_proj(self.attn(self.image_proj(x), words, words))


@MODELS.register_module()
class DenseAdapter(nn.Module):
    """DETRIS's adapter, one implementation for the image (Dense Aligner) and text (Text
    Adapter) towers.

    ``x0 = relu(down(x))`` (B, N, dims); the tokens after the first ``num_prefix_tokens``
    (class / register / SOT tokens) go through three densely connected branches over their
    grid (``spatial_dims=2``: the H x W patch grid, 2d convs; ``1``: the word sequence, 1d
    convs): ``b1 = conv1x1(t)``, ``b2 = conv3x3(conv1x1([t, b1]))``, ``b3 =
    conv5x5(conv1x1([t, b1, b2]))`` with widths dims/2, dims/4, dims/4 (reductions dims/16),
    concatenated back to ``dims``. The image adapter adds ``t`` and lets the result attend to
    the words (:class:`TextCrossAttention`, which replaces it); then the prefix tokens are put
    back, ``x0`` is added and ``up`` projects to the tower width. The tower scales the output
    (0.2 in DETRIS) and adds it next to its MLP.

    The authors' init: Kaiming-normal (fan in, ReLU gain) convs and linears with zero biases
    in the image adapter; PyTorch's default init in the text adapter (``kaiming_init``).
    No zero init: the adapters change the towers' outputs from the first step.

    Args:
        in_channels (int): Tower width (input and output).
        dims (int): Bottleneck width; a multiple of 16.
        spatial_dims (int): 2 (patch grid) or 1 (sequence). Defaults to 2.
        num_prefix_tokens (int): Leading tokens kept out of the conv branches. Defaults to 1.
        text_dims (int, optional): Word width; with it the adapter attends to the words
            (image tower) and adds the branch input back before. Defaults to None.
        attn_dims (int): Width of the cross-attention. Defaults to 128.
        attn_heads (int): Heads of the cross-attention. Defaults to 8.
        attn_dropout (float): Dropout of the cross-attention. Defaults to 0.1.
        kaiming_init (bool): The image adapter's init. Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 dims: int,
                 spatial_dims: int = 2,
                 num_prefix_tokens: int = 1,
                 text_dims: Optional[int] = None,
                 attn_dims: int = 128,
                 attn_heads: int = 8,
                 attn_dropout: float = 0.1,
                 kaiming_init: bool = True) -> None:
        super().__init__()
        assert spatial_dims in (1, 2) and dims % 16 == 0, (spatial_dims, dims)
        self.spatial_dims = spatial_dims
        self.num_prefix_tokens = num_prefix_tokens
        c1, red, c3 = dims // 2, dims // 16, dims // 4
        self.down = nn.Linear(in_channels, dims)
        self.branch1 = _ConvBNReLU(spatial_dims, dims, c1, 1)
        self.branch2 = nn.Sequential(_ConvBNReLU(spatial_dims, dims + c1, red, 1),
                                     _ConvBNReLU(spatial_dims, red, c3, 3))
        self.branch3 = nn.Sequential(_ConvBNReLU(spatial_dims, dims + c1 + c3, red, 1),
                                     _ConvBNReLU(spatial_dims, red, c3, 5))
        self.cross = TextCrossAttention(dims, text_dims, attn_dims, attn_heads, attn_dropout) \
            if text_dims else None
        self.up = nn.Linear(dims, in_channels)
        if kaiming_init:
            for m in self.modules():
                if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor, grid: Optional[Tuple[int, int]] = None,
                words: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            x (Tensor): B, P + N, in_channels tokens (P prefix tokens).
            grid (tuple[int], optional): (H, W) with H * W = N for ``spatial_dims=2``.
            words (Tensor, optional): B, L, text_dims, needed when ``text_dims`` is set.

        Returns:
            Tensor: B, P + N, in_channels.
        """
        x0 = F.relu(self.down(x))  # B, P + N, D
        B, _, D = x0.shape
        P = self.num_prefix_tokens
        t = x0[:, P:].transpose(1, 2)  # B, D, N
        if self.spatial_dims == 2:
            t = t.reshape(B, D, *grid)  # B, D, H, W
        b1 = self.branch1(t)  # B, D/2, (H, W)
        b2 = self.branch2(torch.cat([t, b1], 1))  # B, D/4, (H, W)
        b3 = self.branch3(torch.cat([t, b1, b2], 1))  # B, D/4, (H, W)
        y = torch.cat([b1, b2, b3], 1)  # B, D, (H, W)
        if self.cross is not None:
            y = (y + t).flatten(2).transpose(1, 2)  # B, N, D
            y = self.cross(y, words)  # B, N, D
        else:
            y = y.transpose(1, 2)  # B, N, D
        y = torch.cat([x0[:, :P], y], 1) + x0  # B, P + N, D
        return self.up(y)  # B, P + N, in_channels
