"""Mask2Former-style query decoder: N learned queries -> N mask embeddings / proposals."""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS
from .attention import MultiheadAttention
from .positional_encoding import sine_pos_2d


class QueryDecoderLayer(nn.Module):
    """Masked cross-attention to the pixels, self-attention, FFN; post-norm (Mask2Former).

    Args:
        embed_dims (int): Width.
        num_heads (int): Heads.
        feedforward_channels (int): FFN hidden width.
        dropout (float): Dropout. Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int,
                 dropout: float = 0.) -> None:
        super().__init__()
        self.cross_attn = MultiheadAttention(embed_dims, num_heads, dropout)
        self.self_attn = MultiheadAttention(embed_dims, num_heads, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, feedforward_channels), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(feedforward_channels, embed_dims))
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))
        self.drop = nn.Dropout(dropout)

    def forward(self, q: Tensor, q_pos: Tensor, mem: Tensor, mem_pos: Tensor,
                attn_mask: Tensor) -> Tensor:
        """
        Args:
            q (Tensor): B, N, C queries; q_pos: N, C (or B, N, C) their positions.
            mem (Tensor): B, HW, C pixels; mem_pos: HW, C.
            attn_mask (Tensor): B, 1, N, HW bool, True = not attended.

        Returns:
            Tensor: B, N, C.
        """
        q = self.norms[0](q + self.drop(self.cross_attn(q + q_pos, mem + mem_pos, mem,
                                                        attn_mask=attn_mask)))
        qp = q + q_pos
        q = self.norms[1](q + self.drop(self.self_attn(qp, qp, q)))
        return self.norms[2](q + self.drop(self.ffn(q)))


@MODELS.register_module()
class QueryDecoder(nn.Module):
    """N queries decoded over multi-scale maps, each layer predicting N mask proposals.

    Layer ``i`` attends to level ``i % num_levels`` (give the levels coarse to fine), only
    where the previous prediction of that query is foreground (masked attention; a query
    with an empty mask attends everywhere). The memory carries 2-D sine positions
    (:func:`sine_pos_2d`) and a learned level embedding. The prediction of each state (the
    initial queries and every layer) is ``mask_embed(LN(q))`` and its dot product with the
    per-pixel embeddings.

    Args:
        in_channels (Sequence[int]): Channels of the memory levels (1x1 projected to
            ``embed_dims`` where they differ).
        embed_dims (int): Width of queries and pixel embeddings. Defaults to 256.
        num_queries (int): N. Defaults to 16.
        num_layers (int): Decoder layers. Defaults to 6.
        num_heads (int): Heads. Defaults to 8.
        feedforward_channels (int): FFN width. Defaults to 2048.
        dropout (float): Dropout. Defaults to 0.
        normalize_pos (bool): Sine positions in DETR / Mask2Former's normalised form
            (``PositionEmbeddingSine(normalize=True)``, MagNet), see :func:`sine_pos_2d`.
            Defaults to False.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 embed_dims: int = 256,
                 num_queries: int = 16,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.,
                 normalize_pos: bool = False) -> None:
        super().__init__()
        self.normalize_pos = normalize_pos
        self.num_levels = len(in_channels)
        self.input_proj = nn.ModuleList(
            nn.Conv2d(c, embed_dims, 1) if c != embed_dims else nn.Identity()
            for c in in_channels)
        self.level_embed = nn.Embedding(self.num_levels, embed_dims)
        self.query_feat = nn.Embedding(num_queries, embed_dims)
        self.query_pos = nn.Embedding(num_queries, embed_dims)
        self.layers = nn.ModuleList(
            QueryDecoderLayer(embed_dims, num_heads, feedforward_channels, dropout)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dims)
        self.mask_embed = nn.Sequential(
            nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
            nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
            nn.Linear(embed_dims, embed_dims))

    def predict(self, q: Tensor, pixel: Tensor) -> Dict[str, Tensor]:
        """B, N, C queries + B, C, H, W pixel embeddings -> normed queries ``LN(q)``
        (``queries``) and mask embeddings (``embeds``) B, N, C, and proposals (``masks``)
        B, N, H, W (logits)."""
        queries = self.norm(q)  # B, N, C
        embeds = self.mask_embed(queries)  # B, N, C
        return dict(queries=queries, embeds=embeds,
                    masks=torch.einsum('bnc,bchw->bnhw', embeds, pixel))

    @staticmethod
    def attn_mask(masks: Tensor, size: Sequence[int]) -> Tensor:
        """B, N, H, W logits -> B, 1, N, h*w bool (True = outside the proposal)."""
        m = F.interpolate(masks.detach(), size, mode='bilinear', align_corners=False)
        m = (m.sigmoid() < 0.5).flatten(2)  # B, N, hw
        m = m & ~m.all(-1, keepdim=True)  # an empty proposal attends everywhere
        return m[:, None]

    def forward(self, feats: List[Tensor], pixel: Tensor) -> List[Dict[str, Tensor]]:
        """
        Args:
            feats (list[Tensor]): Memory levels B, C_l, h_l, w_l, coarse to fine
                (e.g. 15 x 15, 30 x 30, 60 x 60 at 480).
            pixel (Tensor): B, embed_dims, H, W per-pixel embeddings (e.g. 120 x 120).

        Returns:
            list[dict]: ``1 + num_layers`` predictions (``queries`` and ``embeds`` B, N, C;
            ``masks`` B, N, H, W), the last one final.
        """
        B = pixel.shape[0]
        mems, poses, sizes = [], [], []
        for i, (f, proj) in enumerate(zip(feats, self.input_proj)):
            f = proj(f)  # B, C, h, w
            sizes.append(f.shape[-2:])
            mems.append(f.flatten(2).transpose(1, 2) + self.level_embed.weight[i])  # B, hw, C
            poses.append(sine_pos_2d(f.shape[1], *f.shape[-2:], f.device,
                                     self.normalize_pos).to(f.dtype))  # hw, C
        q = self.query_feat.weight[None].expand(B, -1, -1)  # B, N, C
        q_pos = self.query_pos.weight  # N, C
        preds = [self.predict(q, pixel)]
        for i, layer in enumerate(self.layers):
            lvl = i % self.num_levels
            mask = self.attn_mask(preds[-1]['masks'], sizes[lvl])
            q = layer(q, q_pos, mems[lvl], poses[lvl], mask)
            preds.append(self.predict(q, pixel))
        return preds
