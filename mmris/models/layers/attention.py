"""Multi-head attention on PyTorch's fused ``scaled_dot_product_attention``."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class MultiheadAttention(nn.Module):
    """Batch-first multi-head attention computed by ``F.scaled_dot_product_attention``.

    Its parameters carry the names of ``torch.nn.MultiheadAttention`` (``in_proj_weight`` /
    ``in_proj_bias`` when key and value have the query's width, ``q_proj_weight``,
    ``k_proj_weight``, ``v_proj_weight`` otherwise, and ``out_proj``), so weights saved from
    ``nn.MultiheadAttention`` load as they are. No attention weights are returned.

    Args:
        embed_dims (int): Width of the queries and of the output.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        dropout (float): Dropout on the attention probabilities (training only).
            Defaults to 0.
        kdim (int, optional): Width of the keys. Defaults to ``embed_dims``.
        vdim (int, optional): Width of the values. Defaults to ``embed_dims``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 dropout: float = 0.,
                 kdim: Optional[int] = None,
                 vdim: Optional[int] = None) -> None:
        super().__init__()
        assert embed_dims % num_heads == 0, 'embed_dims must be divisible by num_heads'
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.dropout = dropout
        self.kdim = kdim or embed_dims
        self.vdim = vdim or embed_dims
        self.packed = self.kdim == embed_dims and self.vdim == embed_dims
        if self.packed:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dims, embed_dims))
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dims, embed_dims))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dims, self.kdim))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dims, self.vdim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dims))
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform projections and zero biases, as ``nn.MultiheadAttention``."""
        if self.packed:
            nn.init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                nn.init.xavier_uniform_(w)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def _heads(self, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        # B, L, C -> B, heads, L, C / heads
        B, L, _ = x.shape
        return F.linear(x, weight, bias).reshape(B, L, self.num_heads, -1).transpose(1, 2)

    def forward(self,
                query: Tensor,
                key: Optional[Tensor] = None,
                value: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        """Attend from ``query`` to ``key`` / ``value``.

        Args:
            query (Tensor): B, Lq, embed_dims.
            key (Tensor, optional): B, Lk, kdim. Defaults to ``query``.
            value (Tensor, optional): B, Lk, vdim. Defaults to ``key``.
            key_padding_mask (Tensor, optional): B, Lk bool, True = ignore that key.
            attn_mask (Tensor, optional): Lq, Lk (or B, heads, Lq, Lk): bool with True =
                ignore, or float added to the scores.

        Returns:
            Tensor: B, Lq, embed_dims.
        """
        key = query if key is None else key
        value = key if value is None else value
        E = self.embed_dims
        if self.packed:
            wq, wk, wv = self.in_proj_weight.split(E)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        bq, bk, bv = self.in_proj_bias.split(E)
        q = self._heads(query, wq, bq)  # B, h, Lq, d
        k = self._heads(key, wk, bk)  # B, h, Lk, d
        v = self._heads(value, wv, bv)  # B, h, Lk, d
        mask = None
        if attn_mask is not None:
            mask = ~attn_mask if attn_mask.dtype == torch.bool else attn_mask.to(q.dtype)
        if key_padding_mask is not None:
            keep = ~key_padding_mask[:, None, None, :]  # B, 1, 1, Lk
            if mask is None:
                mask = keep
            elif mask.dtype == torch.bool:
                mask = mask & keep
            else:
                mask = mask.masked_fill(~keep, float('-inf'))
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.)
        out = out.transpose(1, 2).flatten(2)  # B, Lq, E
        return self.out_proj(out)
