"""Early fusion blocks acting on a Swin stage's output with the words (LAVT, CoupAlign).

Every fusion block has one interface, so the image encoder can call any of them after each
stage (see :class:`mmris.models.backbones.SwinFusion`)::

    x, out, words = block(x, hw_shape, words, word_mask)

``x`` (B, HW, C) continues through the encoder, ``out`` (B, HW, C) is what the stage hands to
the decoder, and ``words`` (B, L, D) is the text stream, returned so that a two-way block
(MagNet's word-to-pixel update) can change it for the next stage. :class:`PixelWordAttention`
is a plain function of (pixel tokens, words), so a block can also run it on pooled grids.
"""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS
from .attention import MultiheadAttention


# LAVT's released PWAM parameter names (1x1 Conv1d / InstanceNorm ``Sequential``s) -> the
# names of :class:`PWAM` here: the checkpoint converters of LAVT and MagNet share it.
PWAM_KEYS = {
    'vis_project.0.': 'vis_project.0.',
    'image_lang_att.f_query.0.': 'attn.query.',
    'image_lang_att.f_key.0.': 'attn.key.',
    'image_lang_att.f_value.0.': 'attn.value.',
    'image_lang_att.W.0.': 'attn.out.',
    'project_mm.0.': 'project_mm.0.',
}


def _instance_norm(x: Tensor) -> Tensor:
    """InstanceNorm1d (no affine) over the tokens of B, N, C: each channel of each sample.
    A single token normalises to 0 (which F.instance_norm refuses to compute in training)."""
    if x.shape[1] == 1:
        return x * 0
    return F.instance_norm(x.transpose(1, 2)).transpose(1, 2)


class TokenInstanceNorm(nn.Module):
    """:func:`_instance_norm` as a module (no parameters): B, N, C -> B, N, C."""

    def forward(self, x: Tensor) -> Tensor:
        return _instance_norm(x)


def token_norm(norm: str, dims: int) -> nn.Module:
    """The normalisation of a pixel-word attention's pixel tokens (B, N, C -> B, N, C).

    Args:
        norm (str): ``'instance'``: over the tokens, no parameters (LAVT's InstanceNorm1d);
            ``'layer'``: over the channels of each token, learned affine (``nn.LayerNorm``,
            MagNet's image-side PWAMs).
        dims (int): Channels C.

    Returns:
        nn.Module: The norm.
    """
    if norm == 'instance':
        return TokenInstanceNorm()
    if norm == 'layer':
        return nn.LayerNorm(dims)
    raise ValueError(f"norm must be 'instance' or 'layer', got {norm!r}")


class PixelWordAttention(nn.Module):
    """LAVT's spatial image-language attention: each pixel gathers the words it matches.

    Queries are the pixels (1x1 projection + ``query_norm``), keys and values the words (1x1
    projections, no normalisation: a sentence has many padding slots); padded words get no
    weight. The scores are scaled by ``key_channels ** -0.5`` whatever the number of heads,
    as in LAVT. The output (1x1 projection + ``out_norm``) has one word-context vector per
    pixel.

    Args:
        v_in_channels (int): Width of the pixel tokens.
        l_in_channels (int): Width of the word features.
        key_channels (int): Width of queries and keys.
        value_channels (int): Width of the values.
        out_channels (int, optional): Output width. Defaults to ``value_channels``.
        num_heads (int): Heads. Defaults to 1.
        norm (str): Norm of the queries and of the output (see :func:`token_norm`):
            ``'instance'`` (over the pixels, no parameters: LAVT) or ``'layer'`` (LayerNorm
            over the channels: MagNet's ``SpatialImageLanguageAttention``, ``f_query.1`` /
            ``W.1``). Defaults to ``'instance'``.
    """

    def __init__(self,
                 v_in_channels: int,
                 l_in_channels: int,
                 key_channels: int,
                 value_channels: int,
                 out_channels: Optional[int] = None,
                 num_heads: int = 1,
                 norm: str = 'instance') -> None:
        super().__init__()
        out_channels = out_channels or value_channels
        self.key_channels = key_channels
        self.num_heads = num_heads
        self.query = nn.Linear(v_in_channels, key_channels)
        self.query_norm = token_norm(norm, key_channels)
        self.key = nn.Linear(l_in_channels, key_channels)
        self.value = nn.Linear(l_in_channels, value_channels)
        self.out = nn.Linear(value_channels, out_channels)
        self.out_norm = token_norm(norm, out_channels)

    def _heads(self, x: Tensor) -> Tensor:
        B, N, _ = x.shape  # B, N, C -> B, heads, N, C / heads
        return x.reshape(B, N, self.num_heads, -1).transpose(1, 2)

    def forward(self, x: Tensor, words: Tensor, word_mask: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): B, HW, v_in_channels pixel tokens.
            words (Tensor): B, L, l_in_channels.
            word_mask (Tensor): B, L bool, True = padding.

        Returns:
            Tensor: B, HW, out_channels.
        """
        q = self._heads(self.query_norm(self.query(x)))  # B, h, HW, dk
        k = self._heads(self.key(words))  # B, h, L, dk
        v = self._heads(self.value(words))  # B, h, L, dv
        keep = ~word_mask[:, None, None, :]  # B, 1, 1, L
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep,
                                             scale=self.key_channels**-0.5)
        out = out.transpose(1, 2).flatten(2)  # B, HW, value_channels
        return self.out_norm(self.out(out))


class LanguageGate(nn.Module):
    """LAVT's language gate: Linear-ReLU-Linear-Tanh (no biases), one weight per element.

    Args:
        dims (int): Width of the gated map.
        zero_init (bool): Zero the last Linear, so that the gate starts closed (0) and the
            fused map starts with no effect on the stage output. LAVT: False. Defaults to False.
    """

    def __init__(self, dims: int, zero_init: bool = False) -> None:
        super().__init__()
        self.zero_init = zero_init
        self.layers = nn.Sequential(
            nn.Linear(dims, dims, bias=False), nn.ReLU(),
            nn.Linear(dims, dims, bias=False), nn.Tanh())
        self.init_gate()

    def init_gate(self) -> None:
        """Zero the last Linear if ``zero_init`` (call again after a global re-init)."""
        if self.zero_init:
            nn.init.zeros_(self.layers[2].weight)

    def forward(self, x: Tensor) -> Tensor:
        """B, N, C -> B, N, C gate values in (-1, 1)."""
        return self.layers(x)


class NormedWordAttention(nn.Module):
    """Pixels (layer-normed) attend to the words with standard multi-head attention
    (scale ``head_dims ** -0.5``, padding masked): the ``'mha'`` attention of :class:`PWAM`.

    Args:
        dims (int): Width of the pixel tokens (and of the output).
        text_dims (int): Width of the word features.
        num_heads (int): Heads; must divide ``dims``. Defaults to 1.
        dropout (float): Attention dropout. Defaults to 0.
    """

    def __init__(self, dims: int, text_dims: int, num_heads: int = 1,
                 dropout: float = 0.) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm = nn.LayerNorm(dims)
        self.attn = MultiheadAttention(dims, num_heads, dropout, kdim=text_dims, vdim=text_dims)

    def forward(self, x: Tensor, words: Tensor, word_mask: Tensor) -> Tensor:
        """B, HW, C pixels + B, L, D words (B, L padding mask) -> B, HW, C."""
        return self.attn(self.norm(x), words, words, key_padding_mask=word_mask)


class PWAM(nn.Module):
    """LAVT's pixel-word attention module: visual map x word context, element-wise.

    ``project_mm(GELU(Linear(x)) * attention(x, words))``.

    Args:
        dims (int): Width of the pixel tokens (and of the output).
        text_dims (int): Width of the word features.
        num_heads (int): Attention heads. Defaults to 1.
        dropout (float): Dropout after both projections. Defaults to 0.
        norm (str): Norm of the attention's queries and output, as
            :class:`PixelWordAttention`: ``'instance'`` (LAVT) or ``'layer'`` (MagNet).
            Defaults to ``'instance'``.
        attention (str): ``'lavt'``: :class:`PixelWordAttention` (LAVT, MagNet);
            ``'mha'``: :class:`NormedWordAttention` (layer-normed pixels, standard
            multi-head attention; ``norm`` unused). Defaults to ``'lavt'``.
    """

    def __init__(self, dims: int, text_dims: int, num_heads: int = 1,
                 dropout: float = 0., norm: str = 'instance',
                 attention: str = 'lavt') -> None:
        super().__init__()
        self.vis_project = nn.Sequential(nn.Linear(dims, dims), nn.GELU(), nn.Dropout(dropout))
        if attention == 'lavt':
            self.attn = PixelWordAttention(dims, text_dims, dims, dims, dims, num_heads, norm)
        elif attention == 'mha':
            self.attn = NormedWordAttention(dims, text_dims, num_heads, dropout)
        else:
            raise ValueError(f"attention must be 'lavt' or 'mha', got {attention!r}")
        self.project_mm = nn.Sequential(nn.Linear(dims, dims), nn.GELU(), nn.Dropout(dropout))

    def forward(self, x: Tensor, words: Tensor, word_mask: Tensor) -> Tensor:
        """B, HW, C pixels + B, L, D words (B, L padding mask) -> B, HW, C fused map."""
        vis = self.vis_project(x)  # B, HW, C
        lang = self.attn(x, words, word_mask)  # B, HW, C
        return self.project_mm(vis * lang)


@MODELS.register_module()
class PWAMFusion(nn.Module):
    """LAVT fusion after a Swin stage: PWAM, then the gated fused map added to the stage.

    ``f = PWAM(x, words)``; the encoder continues with ``x + gate(f) * f``; the stage output
    handed to the decoder is ``f`` itself (LAVT feeds the decoder the fused maps).

    Args:
        dims (int): Width of the stage.
        text_dims (int): Width of the word features (768 for BERT-base).
        num_heads (int): PWAM heads (LAVT: 1). Defaults to 1.
        dropout (float): PWAM dropout (LAVT's ``fusion_drop``). Defaults to 0.
        zero_init_gate (bool): Start with a closed gate. LAVT: False. Defaults to False.
        out_fused (bool): Hand the decoder ``f`` (True, LAVT) or the gated stage output
            (False). Defaults to True.
        attention (str): PWAM's attention, see :class:`PWAM`. Defaults to ``'lavt'``.
    """

    def __init__(self,
                 dims: int,
                 text_dims: int,
                 num_heads: int = 1,
                 dropout: float = 0.,
                 zero_init_gate: bool = False,
                 out_fused: bool = True,
                 attention: str = 'lavt') -> None:
        super().__init__()
        self.out_fused = out_fused
        self.pwam = PWAM(dims, text_dims, num_heads, dropout, attention=attention)
        self.gate = LanguageGate(dims, zero_init_gate)

    def forward(self, x: Tensor, hw_shape: Sequence[int], words: Tensor,
                word_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """
        Args:
            x (Tensor): B, HW, C output of the stage's blocks.
            hw_shape (Sequence[int]): (H, W) of the stage.
            words (Tensor): B, L, D.
            word_mask (Tensor): B, L bool, True = padding.

        Returns:
            tuple[Tensor]: ``x`` for the next stage (B, HW, C), the stage output (B, HW, C)
            and the words (unchanged).
        """
        fused = self.pwam(x, words, word_mask)  # B, HW, C
        x = x + self.gate(fused) * fused
        return x, fused if self.out_fused else x, words


@MODELS.register_module()
class WordPixelAlignment(PWAMFusion):
    """CoupAlign's Word-Pixel Alignment (WPA) after a Swin stage.

    The slides give: cross-attention between word and pixel tokens, and a gate controlling
    how much fused information flows back. Our reading (the figure's details are not
    available) [chosen]: LAVT's fusion, which CoupAlign builds on (:class:`PWAMFusion`):
    pixels attend to the words (multi-head, the padding masked out), the word context is
    multiplied with the projected visual map and projected, and a tanh language gate
    weighs it before it is added to the stage::

        a = attention(x, words)
        f = Linear-GELU(a * Linear-GELU(x))
        S = x + gate(f) * f

    ``S`` (the aligned feature) continues through the encoder; the decoder gets ``f``
    (``out_fused=True``, as LAVT) or ``S`` (False). The attention is LAVT's
    (``attention='lavt'``: instance-normed queries and output, one scale for all heads) or
    the textbook cross-attention on layer-normed pixels (``'mha'``). On the toy data from
    scratch the other readings learned far more slowly (``configs/coupalign/README.md``:
    val oIoU after 4 of 8 epochs 61.8 for the defaults, 35.6 with ``'mha'``, 18.5 with
    ``out_fused=False``). Unlike LAVT the gate starts closed (``zero_init_gate=True``),
    so that at the start of training the encoder computes exactly the pretrained Swin
    features.

    Args:
        dims (int): Width of the stage.
        text_dims (int): Width of the word features.
        num_heads (int): Attention heads; must divide ``dims``. Defaults to 8.
        dropout (float): Projection (and, with ``'mha'``, attention) dropout. Defaults to 0.
        zero_init_gate (bool): Start with a closed gate. Defaults to True.
        out_fused (bool): Hand the decoder ``f`` (True) or ``S`` (False). Defaults to True.
        attention (str): ``'lavt'`` or ``'mha'``, see :class:`PWAM`. Defaults to ``'lavt'``.
    """

    def __init__(self,
                 dims: int,
                 text_dims: int,
                 num_heads: int = 8,
                 dropout: float = 0.,
                 zero_init_gate: bool = True,
                 out_fused: bool = True,
                 attention: str = 'lavt') -> None:
        super().__init__(dims, text_dims, num_heads, dropout, zero_init_gate, out_fused,
                         attention)


def fusion_blocks(fusion: Optional[dict], dims: Sequence[int], text_dims: int) -> nn.ModuleList:
    """One fusion block per stage from one config; list-valued ``num_heads`` go per stage.

    Args:
        fusion (dict, optional): Block config without ``dims`` / ``text_dims``; None: no
            fusion (identity blocks).
        dims (Sequence[int]): Width of each stage.
        text_dims (int): Width of the word features.

    Returns:
        nn.ModuleList: One block per stage.
    """
    blocks = []
    for i, c in enumerate(dims):
        if fusion is None:
            blocks.append(_NoFusion())
            continue
        cfg = dict(fusion, dims=c, text_dims=text_dims)
        if isinstance(cfg.get('num_heads'), (list, tuple)):
            cfg['num_heads'] = cfg['num_heads'][i]
        blocks.append(MODELS.build(cfg))
    return nn.ModuleList(blocks)


class _NoFusion(nn.Module):
    """Identity fusion block (a plain Swin)."""

    def forward(self, x, hw_shape, words, word_mask):
        return x, x, words


def reset_gates(module: nn.Module) -> None:
    """Re-apply the gates' initial values (after an encoder-wide weight init)."""
    for m in module.modules():
        if isinstance(m, LanguageGate):
            m.init_gate()


__all__ = [
    'PixelWordAttention', 'NormedWordAttention', 'LanguageGate', 'PWAM', 'PWAMFusion',
    'WordPixelAlignment', 'fusion_blocks', 'reset_gates', 'PWAM_KEYS'
]
