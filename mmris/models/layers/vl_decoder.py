"""The CRIS vision-language decoder: pixels attend to themselves, then to the words."""
from typing import Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from .attention import MultiheadAttention
from .positional_encoding import sine_pos_1d, sine_pos_2d


class VLDecoderLayer(nn.Module):
    """One pre-norm layer: pixel self-attention, pixel-to-word cross-attention, FFN.

    As in CRIS, each attention output goes through a LayerNorm before its residual add, the
    queries and keys (not the values) get the sine positions, and the FFN has a LayerNorm
    between its two linears.

    Args:
        embed_dims (int): Pixel width C.
        num_heads (int): Attention heads.
        feedforward_channels (int): FFN hidden width.
        dropout (float): Dropout on attention probabilities, FFN and residual branches.
        text_dims (int, optional): Word width. Defaults to ``embed_dims``.
    """

    def __init__(self,
                 embed_dims: int = 512,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.1,
                 text_dims: Optional[int] = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims)
        self.self_attn = MultiheadAttention(embed_dims, num_heads, dropout)
        self.self_attn_norm = nn.LayerNorm(embed_dims)
        self.dropout1 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.cross_attn = MultiheadAttention(embed_dims, num_heads, dropout,
                                             kdim=text_dims, vdim=text_dims)
        self.cross_attn_norm = nn.LayerNorm(embed_dims)
        self.dropout2 = nn.Dropout(dropout)
        self.norm3 = nn.LayerNorm(embed_dims)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, feedforward_channels), nn.ReLU(True), nn.Dropout(dropout),
            nn.LayerNorm(feedforward_channels), nn.Linear(feedforward_channels, embed_dims))
        self.dropout3 = nn.Dropout(dropout)

    def forward(self, vis: Tensor, words: Tensor, vis_pos: Tensor, word_pos: Tensor,
                word_mask: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            vis (Tensor): B, HW, C pixels.
            words (Tensor): B, L, D words.
            vis_pos (Tensor): HW, C positions.
            word_pos (Tensor): L, D positions.
            word_mask (Tensor, optional): B, L bool, True = padding.

        Returns:
            Tensor: B, HW, C.
        """
        x = self.norm1(vis)
        q = x + vis_pos
        x = self.self_attn(q, q, x)
        vis = vis + self.dropout1(self.self_attn_norm(x))
        x = self.norm2(vis)
        x = self.cross_attn(x + vis_pos, words + word_pos, words, key_padding_mask=word_mask)
        vis = vis + self.dropout2(self.cross_attn_norm(x))
        return vis + self.dropout3(self.ffn(self.norm3(vis)))


@MODELS.register_module()
class VLDecoder(BaseModule):
    """A stack of :class:`VLDecoderLayer` and a final LayerNorm (CRIS's decoder).

    Args:
        num_layers (int): Number of layers. Defaults to 3.
        embed_dims (int): Pixel width C. Defaults to 512.
        num_heads (int): Attention heads. Defaults to 8.
        feedforward_channels (int): FFN hidden width. Defaults to 2048.
        dropout (float): Dropout. Defaults to 0.1.
        text_dims (int, optional): Word width. Defaults to ``embed_dims``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 num_layers: int = 3,
                 embed_dims: int = 512,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.1,
                 text_dims: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.layers = nn.ModuleList([
            VLDecoderLayer(embed_dims, num_heads, feedforward_channels, dropout, text_dims)
            for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(embed_dims)

    def forward(self, vis: Tensor, words: Tensor, word_mask: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            vis (Tensor): B, C, H, W pixels.
            words (Tensor): B, L, D words.
            word_mask (Tensor, optional): B, L bool, True = padding.

        Returns:
            Tensor: B, C, H, W.
        """
        B, C, H, W = vis.shape
        vis_pos = sine_pos_2d(C, H, W, vis.device).to(vis.dtype)  # HW, C
        word_pos = sine_pos_1d(words.shape[-1], words.shape[1], words.device).to(words.dtype)
        x = vis.flatten(2).transpose(1, 2)  # B, HW, C
        for layer in self.layers:
            x = layer(x, words, vis_pos, word_pos, word_mask)
        return self.norm(x).transpose(1, 2).reshape(B, C, H, W)
