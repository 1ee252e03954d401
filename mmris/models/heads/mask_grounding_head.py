"""Mask Grounding (MagNet, CVPR 2024): masked word prediction from text, image and mask."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..layers.attention import MultiheadAttention
from ..layers.positional_encoding import sine_pos_1d, sine_pos_2d
from ..utils.text_features import TextFeatures


def _special_ids(encoder: nn.Module) -> Tuple[int, int, List[int]]:
    """(vocabulary size, mask id, ids never masked) of a BERT or CLIP text encoder.

    BERT: its ``[MASK]``; [CLS], [SEP], [PAD] are never masked. CLIP's BPE vocabulary has no
    mask token [chosen]: the start-of-text id stands for it (it only ever occurs at
    position 0, so elsewhere it cannot be read as a word); SOT, EOT and 0 padding are never
    masked.
    """
    tok = getattr(encoder, 'tokenizer', None)
    if tok is not None and getattr(tok, 'mask_token_id', None) is not None:
        specials = [tok.cls_token_id, tok.sep_token_id, tok.pad_token_id]
        return encoder.bert.config.vocab_size, tok.mask_token_id, specials
    text = encoder.text  # open_clip TextTransformer
    sot = encoder.eot_id - 1  # <|startoftext|> is 49406, <|endoftext|> 49407
    return text.vocab_size, sot, [sot, encoder.eot_id]


def encode_tokens(encoder: nn.Module, tokens: Tensor, pad_mask: Tensor) -> Tensor:
    """Word features of token ids with every Transformer layer, BERT or CLIP.

    Args:
        encoder (nn.Module): ``BERTTextEncoder`` (all layers run, even with
            ``run_layers=False``) or ``CLIPTextEncoder``.
        tokens (Tensor): B, L ids.
        pad_mask (Tensor): B, L bool, True = padding.

    Returns:
        Tensor: B, L, width.
    """
    if hasattr(encoder, 'forward_layers'):
        attn = (~pad_mask).long()
        return encoder.forward_layers(encoder.embed(tokens), attn, 0, encoder.num_layers)
    return encoder(tokens).words


def random_word_mask(tokens: Tensor, pad_mask: Tensor, specials: Sequence[int],
                     ratio: float) -> Tensor:
    """B, L bool: each real word token (not padding, not a special id) drawn with
    probability ``ratio`` (BERT's masked-LM sampling, without the 10 / 10 % swaps)."""
    eligible = ~pad_mask
    for s in specials:
        eligible &= tokens != s
    return eligible & (torch.rand(tokens.shape, device=tokens.device) < ratio)


def mask_centres(gt: Tensor) -> Tensor:
    """B, H, W labels (1 = object) -> B, 2 (x, y) centres of the object in [0, 1] (the
    image centre for an empty mask)."""
    B, H, W = gt.shape
    fg = (gt == 1).float()  # B, H, W
    ys = (torch.arange(H, device=gt.device, dtype=fg.dtype) + 0.5) / H
    xs = (torch.arange(W, device=gt.device, dtype=fg.dtype) + 0.5) / W
    area = fg.flatten(1).sum(1)  # B
    cx = (fg.sum(1) * xs).sum(1) / area.clamp(min=1)
    cy = (fg.sum(2) * ys).sum(1) / area.clamp(min=1)
    centre = torch.stack([cx, cy], 1)
    return torch.where(area[:, None] > 0, centre, torch.full_like(centre, 0.5))


class PredictorLayer(nn.Module):
    """Pre-norm Transformer encoder layer (self-attention, FFN).

    Args:
        embed_dims (int): Width.
        num_heads (int): Heads.
        feedforward_channels (int): FFN width.
        dropout (float): Dropout. Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int,
                 dropout: float = 0.) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims)
        self.attn = MultiheadAttention(embed_dims, num_heads, dropout)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, feedforward_channels), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(feedforward_channels, embed_dims))

    def forward(self, x: Tensor, pos: Tensor, pad_mask: Tensor) -> Tensor:
        """B, N, C tokens (+ B, N, C positions, B, N padding mask) -> B, N, C."""
        q = self.norm1(x) + pos
        x = x + self.attn(q, q, self.norm1(x), key_padding_mask=pad_mask)
        return x + self.ffn(self.norm2(x))


@MODELS.register_module()
class MaskGroundingHead(BaseModule):
    """Mask Grounding as an auxiliary head any referring segmentor can add in its config.

    In training: 15 % of the word tokens are replaced by the mask id; the masked sentences
    go through the segmentor's text encoder (every layer; the encoder is bound by the
    segmentor, see ``bind_text_encoder``); the centre (x, y) of the ground-truth mask is
    encoded by an MLP (the Mask Encoder); text, visual and mask tokens (each projected to
    ``embed_dims``, with a learned type embedding and sine positions) go through a small
    Transformer (the Masked Token Predictor), whose outputs at the text positions are
    classified over the text encoder's vocabulary (BERT's WordPiece or CLIP's BPE);
    cross-entropy on the masked positions.

    The visual tokens are the image features the segmentor hands its heads (``x``, or
    ``x[in_index]`` for a list: CRIS's neck map, a Swin stage), average-pooled to at most
    ``pool_size`` x ``pool_size``. Choices where the paper is silent [chosen]: all
    selected tokens become the mask id (no 10 % random / 10 % kept), 2 pre-norm layers of
    width 256, the masked sentence is encoded by the text encoder alone (not the
    image-fused text stream), loss weight 1.

    Args:
        in_channels (int): Channels of the visual map.
        text_dims (int): Width of the word features.
        in_index (int): Which map when the head gets a list. Defaults to -1.
        embed_dims (int): Predictor width. Defaults to 256.
        num_layers (int): Predictor layers. Defaults to 2.
        num_heads (int): Predictor heads. Defaults to 8.
        feedforward_channels (int): Predictor FFN width. Defaults to 1024.
        dropout (float): Predictor dropout. Defaults to 0.1.
        mask_ratio (float): Probability of masking each word token. Defaults to 0.15.
        pool_size (int): Largest visual grid side. Defaults to 16.
        loss_weight (float): Weight of the cross-entropy. Defaults to 1.0.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 text_dims: int,
                 in_index: int = -1,
                 embed_dims: int = 256,
                 num_layers: int = 2,
                 num_heads: int = 8,
                 feedforward_channels: int = 1024,
                 dropout: float = 0.1,
                 mask_ratio: float = 0.15,
                 pool_size: int = 16,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.in_index = in_index
        self.embed_dims = embed_dims
        self.mask_ratio = mask_ratio
        self.pool_size = pool_size
        self.loss_weight = loss_weight
        self._encoder: Tuple[nn.Module, ...] = ()
        self.text_proj = nn.Linear(text_dims, embed_dims)
        self.visual_proj = nn.Linear(in_channels, embed_dims)
        self.mask_encoder = nn.Sequential(
            nn.Linear(2, embed_dims), nn.ReLU(inplace=True), nn.Linear(embed_dims, embed_dims))
        self.type_embed = nn.Embedding(3, embed_dims)  # text, visual, mask
        self.layers = nn.ModuleList(
            PredictorLayer(embed_dims, num_heads, feedforward_channels, dropout)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dims)
        self.classifier: Optional[nn.Linear] = None  # built by bind_text_encoder

    def bind_text_encoder(self, encoder: nn.Module) -> None:
        """Keep a reference to the segmentor's text encoder (not a submodule) and build the
        vocabulary classifier."""
        self._encoder = (encoder, )
        vocab_size, self.mask_id, self.specials = _special_ids(encoder)
        self.classifier = nn.Linear(self.embed_dims, vocab_size)

    @property
    def text_encoder(self) -> nn.Module:
        if not self._encoder:
            raise RuntimeError('MaskGroundingHead needs the text encoder: add it as an '
                               'auxiliary_head of ReferringEncoderDecoder')
        return self._encoder[0]

    def _visual(self, x: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor, Tensor]:
        """Head input -> B, N, C visual tokens and N, C positions."""
        v = x[self.in_index] if isinstance(x, (list, tuple)) else x  # B, Cv, h, w
        if max(v.shape[-2:]) > self.pool_size:
            v = F.adaptive_avg_pool2d(v, [min(s, self.pool_size) for s in v.shape[-2:]])
        pos = sine_pos_2d(self.embed_dims, *v.shape[-2:], device=v.device).to(v.dtype)
        return self.visual_proj(v.flatten(2).transpose(1, 2)), pos

    def predictor(self, x: Union[Tensor, Sequence[Tensor]], tokens: Tensor,
                  pad_mask: Tensor, centres: Tensor) -> Tensor:
        """The Masked Token Predictor's outputs at the text positions (before the
        vocabulary classifier).

        Args:
            x (Tensor | Sequence[Tensor]): Visual map(s) B, Cv, h, w.
            tokens (Tensor): B, L (masked) token ids.
            pad_mask (Tensor): B, L bool, True = padding.
            centres (Tensor): B, 2 mask centres (x, y) in [0, 1].

        Returns:
            Tensor: B, L, embed_dims.
        """
        B, L = tokens.shape
        words = self.text_proj(encode_tokens(self.text_encoder, tokens, pad_mask))  # B, L, C
        vis, vis_pos = self._visual(x)  # B, N, C / N, C
        mask_tok = self.mask_encoder(centres)[:, None]  # B, 1, C
        t = self.type_embed.weight
        seq = torch.cat([words + t[0], vis + t[1], mask_tok + t[2]], 1)  # B, L + N + 1, C
        pos = torch.cat([sine_pos_1d(self.embed_dims, L, device=seq.device).to(seq.dtype),
                         vis_pos, vis_pos.new_zeros(1, self.embed_dims)])[None]
        pad = torch.cat([pad_mask, pad_mask.new_zeros(B, vis.shape[1] + 1)], 1)
        for layer in self.layers:
            seq = layer(seq, pos, pad)
        return self.norm(seq[:, :L])  # B, L, C

    def forward(self, x: Union[Tensor, Sequence[Tensor]], tokens: Tensor, pad_mask: Tensor,
                centres: Tensor) -> Tensor:
        """Word logits over the vocabulary: B, L, vocab_size (arguments as
        :meth:`predictor`)."""
        return self.classifier(self.predictor(x, tokens, pad_mask, centres))

    def loss(self, x: Union[Tensor, Sequence[Tensor]], text: TextFeatures,
             batch_data_samples: List, train_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
        """``loss_mg`` (cross-entropy on the masked words) and ``acc_mg`` (their top-1
        accuracy, %).

        Args:
            x (Tensor | Sequence[Tensor]): The heads' input.
            text (TextFeatures): ``tokens`` (B, L) and ``mask`` (B, L, True = padding).
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            train_cfg (dict, optional): Unused.
        """
        tokens, pad_mask = text.tokens, text.mask
        picked = random_word_mask(tokens, pad_mask, self.specials, self.mask_ratio)  # B, L
        masked = tokens.masked_fill(picked, self.mask_id)
        gt = torch.stack([s.gt_sem_seg.data[0] for s in batch_data_samples])  # B, H, W
        feats = self.predictor(x, masked, pad_mask, mask_centres(gt))  # B, L, C
        if not picked.any():
            zero = self.classifier(feats[:, :1]).sum() * 0
            return dict(loss_mg=zero, acc_mg=zero.detach())
        # the vocabulary classifier only at the masked positions (CLIP's BPE: 49,408 words)
        sel, target = self.classifier(feats[picked]), tokens[picked]  # M, V / M
        acc = (sel.argmax(-1) == target).float().mean() * 100
        return dict(loss_mg=self.loss_weight * F.cross_entropy(sel, target), acc_mg=acc)

    def predict(self, *args, **kwargs):
        """Training-only head."""
        raise NotImplementedError('MaskGroundingHead only adds a training loss')


__all__ = ['MaskGroundingHead', 'encode_tokens', 'random_word_mask', 'mask_centres']
