"""Mask2Former's multi-scale deformable-attention pixel decoder (mmcv's MSDeformAttn)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.ops import MultiScaleDeformableAttention
from torch import Tensor

from mmris.registry import MODELS
from .positional_encoding import sine_pos_2d


class MSDeformEncoderLayer(nn.Module):
    """Deformable self-attention over all levels (residual inside mmcv's op), FFN; post-norm.

    Args:
        embed_dims (int): Width.
        num_heads (int): Heads.
        num_levels (int): Levels.
        num_points (int): Sampling points per head and level.
        feedforward_channels (int): FFN width.
        dropout (float): Dropout.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_levels: int, num_points: int,
                 feedforward_channels: int, dropout: float) -> None:
        super().__init__()
        self.attn = MultiScaleDeformableAttention(
            embed_dims, num_heads, num_levels, num_points, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, feedforward_channels), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(feedforward_channels, embed_dims), nn.Dropout(dropout))
        self.norm2 = nn.LayerNorm(embed_dims)

    def forward(self, x: Tensor, pos: Tensor, ref: Tensor, shapes: Tensor,
                starts: Tensor) -> Tensor:
        """B, N, C tokens of all levels (N, C positions; B, N, levels, 2 reference points)
        -> B, N, C."""
        x = self.norm1(self.attn(x, value=x, query_pos=pos, reference_points=ref,
                                 spatial_shapes=shapes, level_start_index=starts))
        return self.norm2(x + self.ffn(x))


@MODELS.register_module()
class MSDeformAttnPixelDecoder(nn.Module):
    """Multi-scale deformable-attention encoder over the backbone maps (Mask2Former).

    The encoded levels (the ``num_encoder_levels`` coarsest maps) are projected (1x1 conv +
    GroupNorm(32)) to ``embed_dims``, given 2-D sine positions (:func:`sine_pos_2d`) plus a
    learned level embedding, and encoded together by ``num_layers`` deformable layers
    (mmcv's op; its PyTorch implementation on CPU). Each finer map, if any, joins through
    Mask2Former's FPN step: lateral 1x1 conv-GN-ReLU + the next coarser output upsampled
    (bilinear), then a 3x3 conv-GN-ReLU. The finest output gives the per-pixel mask
    features (1x1 conv).

    Args:
        in_channels (Sequence[int]): Channels of the maps, fine to coarse.
        embed_dims (int): Width. Defaults to 256.
        mask_dims (int): Width of the mask features. Defaults to 256.
        num_layers (int): Encoder layers. Defaults to 4 (MagNet).
        num_heads (int): Heads. Defaults to 8.
        num_points (int): Points per head and level. Defaults to 4.
        feedforward_channels (int): FFN width. Defaults to 1024.
        dropout (float): Dropout. Defaults to 0.
        normalize_pos (bool): Sine positions in DETR / Mask2Former's normalised form
            (``PositionEmbeddingSine(normalize=True)``, MagNet), see :func:`sine_pos_2d`.
            Defaults to False.
        num_encoder_levels (int, optional): How many of the coarsest maps the deformable
            layers encode; the finer ones take the FPN step. MagNet's ``test.py``: all four
            (None); Mask2Former's default: three (stride 8 / 16 / 32), the stride-4 map by
            FPN, which leaves the deformable layers a sixteenth of the stride-4 tokens (the
            toy config, for CPU time). Defaults to None (all).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 embed_dims: int = 256,
                 mask_dims: int = 256,
                 num_layers: int = 4,
                 num_heads: int = 8,
                 num_points: int = 4,
                 feedforward_channels: int = 1024,
                 dropout: float = 0.,
                 normalize_pos: bool = False,
                 num_encoder_levels: Optional[int] = None) -> None:
        super().__init__()
        self.normalize_pos = normalize_pos
        L = num_encoder_levels or len(in_channels)
        self.num_fpn = len(in_channels) - L  # the finest maps, FPN step
        self.input_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, embed_dims, 1), nn.GroupNorm(32, embed_dims))
            for c in in_channels[self.num_fpn:])
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, embed_dims, 1, norm_cfg=dict(type='GN', num_groups=32))
            for c in in_channels[:self.num_fpn])
        self.output_convs = nn.ModuleList(
            ConvModule(embed_dims, embed_dims, 3, padding=1,
                       norm_cfg=dict(type='GN', num_groups=32))
            for _ in range(self.num_fpn))
        self.level_embed = nn.Parameter(torch.zeros(L, embed_dims))
        nn.init.normal_(self.level_embed)
        self.layers = nn.ModuleList(
            MSDeformEncoderLayer(embed_dims, num_heads, L, num_points, feedforward_channels,
                                 dropout) for _ in range(num_layers))
        self.mask_features = nn.Conv2d(embed_dims, mask_dims, 1)

    @staticmethod
    def reference_points(shapes: Tensor, num_levels: int) -> Tensor:
        """Pixel centres of every level, normalised to [0, 1]: N, levels, 2 (x, y)."""
        refs = []
        for h, w in shapes.tolist():
            y, x = torch.meshgrid((torch.arange(h, device=shapes.device) + 0.5) / h,
                                  (torch.arange(w, device=shapes.device) + 0.5) / w,
                                  indexing='ij')
            refs.append(torch.stack([x.flatten(), y.flatten()], -1))  # hw, 2
        return torch.cat(refs)[:, None].expand(-1, num_levels, -1)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        """
        Args:
            feats (Sequence[Tensor]): B, C_l, h_l, w_l maps, fine to coarse (Swin-B at 480:
                120², 60², 30², 15²).

        Returns:
            tuple: mask features B, mask_dims, h_0, w_0 and the output maps coarse to fine
            (B, embed_dims, h_l, w_l each: encoded, then the FPN ones).
        """
        fpn_feats, feats = feats[:self.num_fpn], feats[self.num_fpn:]
        srcs = [proj(f) for proj, f in zip(self.input_proj, feats)]  # B, C, h_l, w_l
        shapes = torch.tensor([s.shape[-2:] for s in srcs], device=srcs[0].device)
        starts = torch.cat([shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]])
        x = torch.cat([s.flatten(2).transpose(1, 2) for s in srcs], 1)  # B, N, C
        pos = torch.cat([
            sine_pos_2d(s.shape[1], *s.shape[-2:], s.device, self.normalize_pos).to(s.dtype)
            + lvl
            for s, lvl in zip(srcs, self.level_embed)])  # N, C
        ref = self.reference_points(shapes, len(srcs)).to(x.dtype)
        ref = ref[None].expand(x.shape[0], -1, -1, -1)  # B, N, levels, 2
        pos = pos[None].expand(x.shape[0], -1, -1)
        for layer in self.layers:
            x = layer(x, pos, ref, shapes, starts)
        maps = [m.transpose(1, 2).reshape(s.shape) for m, s in
                zip(x.split(shapes.prod(1).tolist(), 1), srcs)][::-1]  # coarse to fine
        for f, lateral, out in zip(reversed(fpn_feats), reversed(self.lateral_convs),
                                   reversed(self.output_convs)):
            y = lateral(f) + F.interpolate(maps[-1], f.shape[-2:], mode='bilinear',
                                           align_corners=False)
            maps.append(out(y))  # B, C, h_l, w_l
        return self.mask_features(maps[-1]), maps


__all__ = ['MSDeformAttnPixelDecoder', 'MSDeformEncoderLayer']
