"""MagNet's Cross-modal Alignment Module (CAM): two-way fusion after a Swin stage."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS
from .pixel_word_attention import PWAM, LanguageGate, _instance_norm


def _bins(n: int, p: int) -> Tensor:
    """p x n matrix averaging each of adaptive pooling's p bins over n positions."""
    m = torch.zeros(p, n)
    for i in range(p):
        start, end = (i * n) // p, -(-((i + 1) * n) // p)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool(x: Tensor, p: int) -> Tensor:
    """``F.adaptive_avg_pool2d(x, p)``; while exporting to ONNX (which has no adaptive pooling
    to a size that does not divide the input's, e.g. 3 from 4 x 4) the same bins as two
    products with averaging matrices. B, C, H, W -> B, C, p, p."""
    if not torch.onnx.is_in_onnx_export():
        return F.adaptive_avg_pool2d(x, p)
    h, w = x.shape[-2:]
    rows = _bins(int(h), p).to(x)  # p, H
    cols = _bins(int(w), p).to(x)  # p, W
    return rows @ x @ cols.T


class GELUGate(LanguageGate):
    """:class:`LanguageGate` with GELU inside (MagNet's image-side gate)."""

    def __init__(self, dims: int, zero_init: bool = True) -> None:
        super().__init__(dims, zero_init)
        self.layers[1] = nn.GELU()


class WordPixelAttention(nn.Module):
    """Each word gathers the pixels it matches (word-to-pixel attention).

    Queries are the words (Linear), keys and values the pixels (Linear + instance norm over
    the pixels); scores scaled by ``key_channels ** -0.5``; the output (Linear + instance
    norm over the words) has one image-context vector per word.

    The official MagNet code multiplies the queries by BERT's additive mask (0 for the
    words, -1e4 for the padding), so that every real word has a zero query and attends to
    all pixels uniformly (its output is then the mean of the instance-normed values, i.e.
    0, before the output projection), while the padding slots attend sharply; it then adds
    ``1e4 * mask - 1e4`` to the scores (a constant per word, which in float32 rounds the
    padding rows' scores to multiples of 8). ``bert_mask_queries=True`` reproduces both
    (for the released checkpoints, trained with them); the default computes the attention
    as described above.

    Args:
        l_in_channels (int): Width of the words (and of keys, values and output).
        v_in_channels (int): Width of the pixel tokens.
        num_heads (int): Heads. Defaults to 1.
        bert_mask_queries (bool): Multiply the queries by BERT's additive mask, as the
            official code does. Defaults to False.
    """

    def __init__(self, l_in_channels: int, v_in_channels: int, num_heads: int = 1,
                 bert_mask_queries: bool = False) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.bert_mask_queries = bert_mask_queries
        self.query = nn.Linear(l_in_channels, l_in_channels)
        self.key = nn.Linear(v_in_channels, l_in_channels)
        self.value = nn.Linear(v_in_channels, l_in_channels)
        self.out = nn.Linear(l_in_channels, l_in_channels)

    def _heads(self, x: Tensor) -> Tensor:
        B, N, _ = x.shape  # B, N, C -> B, heads, N, C / heads
        return x.reshape(B, N, self.num_heads, -1).transpose(1, 2)

    def forward(self, words: Tensor, x: Tensor, word_mask: Tensor) -> Tensor:
        """B, L, D words + B, HW, C pixels (B, L padding mask, True = padding) -> B, L, D
        (padding rows are computed too; the caller's gate and the later masks ignore them)."""
        q, bias = self.query(words), None  # B, L, D
        if self.bert_mask_queries:  # official: BERT's mask (0 / -1e4) x q, + 1e4 * mask - 1e4
            ext = word_mask[..., None] * -1e4  # B, L, 1
            q, bias = q * ext, (1e4 * ext - 1e4)[:, None]  # B, 1, L, 1 (rounds in float32)
        q = self._heads(q)  # B, h, L, D / h
        k = self._heads(_instance_norm(self.key(x)))  # B, h, HW, D / h
        v = self._heads(_instance_norm(self.value(x)))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                             scale=self.query.out_features**-0.5)
        return _instance_norm(self.out(out.transpose(1, 2).flatten(2)))  # B, L, D


@MODELS.register_module()
class CrossModalAlignment(nn.Module):
    """MagNet's CAM after a Swin stage (a :class:`SwinFusion` fusion block).

    Image side: LAVT's PWAM (with LayerNorms in its attention, ``pwam_norm``) at full
    resolution and on average-pooled grids (``pool_sizes``; each pooled map reduced to C/4
    by a Linear-LN-Linear-GELU-Linear stack, fused with its own PWAM, upsampled
    bilinearly); the full-resolution and pooled results are concatenated and mixed
    (Linear-LN-Linear-GELU) into the stage output handed to the decoder. The encoder
    continues with ``x + gate(f) * f`` (``f`` the full-resolution PWAM output, GELU gate).
    Text side: word-to-pixel attention times the projected words, projected, added to the
    words through a tanh gate (ReLU inside), so that the text stream is updated stage by
    stage. Both gates start closed (last Linear zero).

    Args:
        dims (int): Width of the stage.
        text_dims (int): Width of the word features.
        num_heads (int): Heads of all attentions. Defaults to 1 (MagNet).
        pool_sizes (Sequence[int]): Pooled grid sides. Defaults to (1, 2, 3, 6).
        dropout (float): PWAM dropout. Defaults to 0.
        zero_init_gate (bool): Start with closed gates. Defaults to True.
        pwam_norm (str): Norm of the queries and output of every image-side PWAM attention
            (full resolution and pooled), see :class:`PixelWordAttention`: ``'layer'``
            (MagNet's ``SpatialImageLanguageAttention``: Linear + LayerNorm) or
            ``'instance'`` (LAVT). Defaults to ``'layer'``.
        bert_mask_queries (bool): Text side: the official code's word queries multiplied
            by BERT's additive mask, see :class:`WordPixelAttention`. Defaults to False.
    """

    def __init__(self,
                 dims: int,
                 text_dims: int,
                 num_heads: int = 1,
                 pool_sizes: Sequence[int] = (1, 2, 3, 6),
                 dropout: float = 0.,
                 zero_init_gate: bool = True,
                 pwam_norm: str = 'layer',
                 bert_mask_queries: bool = False) -> None:
        super().__init__()
        self.pool_sizes = tuple(pool_sizes)
        red = dims // 4
        self.pwam = PWAM(dims, text_dims, num_heads, dropout, pwam_norm)
        self.gate = GELUGate(dims, zero_init_gate)
        self.pyramids = nn.ModuleList(
            nn.Sequential(
                nn.Linear(dims, 4 * dims, bias=False), nn.LayerNorm(4 * dims, eps=1e-6),
                nn.Linear(4 * dims, dims, bias=False), nn.GELU(),
                nn.Linear(dims, red, bias=False)) for _ in self.pool_sizes)
        self.pool_fusions = nn.ModuleList(
            PWAM(red, text_dims, num_heads, dropout, pwam_norm) for _ in self.pool_sizes)
        self.mixer = nn.Sequential(
            nn.Linear(dims + red * len(self.pool_sizes), dims), nn.LayerNorm(dims),
            nn.Linear(dims, dims), nn.GELU())
        self.word_vis = nn.Sequential(
            nn.Linear(text_dims, text_dims), nn.GELU(), nn.Dropout(dropout))
        self.word_attn = WordPixelAttention(text_dims, dims, num_heads, bert_mask_queries)
        self.word_mm = nn.Sequential(
            nn.Linear(text_dims, text_dims), nn.GELU(), nn.Dropout(dropout))
        self.word_gate = LanguageGate(text_dims, zero_init_gate)

    def forward(self, x: Tensor, hw_shape: Sequence[int], words: Tensor,
                word_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """
        Args:
            x (Tensor): B, HW, C output of the stage's blocks.
            hw_shape (Sequence[int]): (H, W).
            words (Tensor): B, L, D.
            word_mask (Tensor): B, L bool, True = padding.

        Returns:
            tuple[Tensor]: ``x`` for the next stage (B, HW, C), the stage output (B, HW, C)
            and the updated words (B, L, D).
        """
        B, _, C = x.shape
        H, W = hw_shape
        fused = self.pwam(x, words, word_mask)  # B, HW, C
        grid = x.transpose(1, 2).reshape(B, C, H, W)
        outs = []
        for p, reduce, fusion in zip(self.pool_sizes, self.pyramids, self.pool_fusions):
            t = reduce(adaptive_avg_pool(grid, p).flatten(2).transpose(1, 2))  # B, p², C/4
            t = fusion(t, words, word_mask).transpose(1, 2).reshape(B, -1, p, p)
            t = F.interpolate(t, (H, W), mode='bilinear', align_corners=True)
            outs.append(t.flatten(2).transpose(1, 2))  # B, HW, C/4
        out = self.mixer(torch.cat(outs + [fused], -1))  # B, HW, C
        w = self.word_mm(self.word_vis(words) * self.word_attn(words, x, word_mask))  # B, L, D
        words = words + self.word_gate(w) * w
        return x + self.gate(fused) * fused, out, words


__all__ = ['CrossModalAlignment', 'WordPixelAttention', 'GELUGate']
