"""CLIP text tower (open_clip's TextTransformer) with its BPE tokenizer, CRIS-style."""
from functools import lru_cache
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from open_clip.tokenizer import SimpleTokenizer
from open_clip.transformer import QuickGELU, TextTransformer, text_global_pool
from torch import Tensor

from mmris.registry import MODELS
from ..layers.adapter import DenseAdapter
from ..utils.clip_checkpoint import load_clip_state_dict, text_tower_state
from ..utils.pretrained import load_pretrained
from ..utils.text_features import TextFeatures
from ..utils.truncation import TruncationStats

# OpenAI CLIP text towers: output_dim is the joint embedding width.
ARCHS = {
    'RN50': dict(width=512, heads=8, layers=12, output_dim=1024),
    'RN101': dict(width=512, heads=8, layers=12, output_dim=512),
    'ViT-B-16': dict(width=512, heads=8, layers=12, output_dim=512),
    'ViT-L-14': dict(width=768, heads=12, layers=12, output_dim=768),
}


@lru_cache(maxsize=1)
def _tokenizer() -> SimpleTokenizer:
    # open_clip's BPE vocabulary ships with the package
    return SimpleTokenizer()


@MODELS.register_module()
class CLIPTextEncoder(BaseModule):
    """CLIP text transformer over ``word_len`` tokens, tokenizing raw sentences itself.

    A sentence becomes SOT, its BPE tokens, EOT, padded with 0 to ``word_len``; a longer one is
    cut and its last kept token replaced by EOT (CRIS's ``tokenize(..., truncate=True)``;
    open_clip's tokenizer does the same). Cut sentences are counted in
    :attr:`truncation_stats` (logged by ``TextTruncationHook``). The positional embedding
    (and the causal mask) has ``word_len`` positions. The padding mask is derived from the
    EOT position: every position after it is padding (True), so a real token with id 0 ('!')
    is not mistaken for padding.

    Args:
        arch (str | dict): 'RN50', 'RN101', 'ViT-B-16', 'ViT-L-14' (the CLIP model the
            tower comes from) or ``dict(width, heads, layers, output_dim)``.
        word_len (int): Tokens per sentence, SOT and EOT included. 17 for RefCOCO/+,
            22 for G-Ref. Defaults to 17.
        vocab_size (int): Vocabulary size. Defaults to 49408.
        quick_gelu (bool): QuickGELU activations (OpenAI's weights). Defaults to True.
        pretrained (str, optional): Local OpenAI or open_clip checkpoint of the whole CLIP
            model; its text weights are loaded by :meth:`init_weights` (the positional
            embedding cut to ``word_len``).
        adapter_layers (Sequence[int]): Blocks that get a :class:`DenseAdapter` over the
            word sequence (DETRIS's Text Adapter): ``x = x + mlp(ln_2(x)) + adapter_scale *
            adapter(x)`` with ``x`` after the attention residual. Defaults to () (none).
        adapter_dims (int): Adapter bottleneck width. Defaults to 64.
        adapter_scale (float): Scale of the adapter output. Defaults to 0.2.
        frozen (bool): Freeze the CLIP tower (``requires_grad=False``); the adapters stay
            trainable. Defaults to False.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'RN50',
                 word_len: int = 17,
                 vocab_size: int = 49408,
                 quick_gelu: bool = True,
                 pretrained: Optional[str] = None,
                 adapter_layers: Sequence[int] = (),
                 adapter_dims: int = 64,
                 adapter_scale: float = 0.2,
                 frozen: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        cfg = ARCHS[arch] if isinstance(arch, str) else arch
        self.word_len = word_len
        self.pretrained = pretrained
        self.text = TextTransformer(
            context_length=word_len, vocab_size=vocab_size, width=cfg['width'],
            heads=cfg['heads'], layers=cfg['layers'], output_dim=cfg['output_dim'],
            act_layer=QuickGELU if quick_gelu else nn.GELU, output_tokens=True)
        self.eot_id = _tokenizer().eot_token_id
        self.sot_id = _tokenizer().sot_token_id
        self.truncation_stats = TruncationStats(word_len)
        if frozen:
            self.text.requires_grad_(False)
        assert all(0 <= i < cfg['layers'] for i in adapter_layers), adapter_layers
        self.adapter_scale = adapter_scale
        self.adapters = nn.ModuleDict({
            str(i): DenseAdapter(cfg['width'], adapter_dims, spatial_dims=1,
                                 num_prefix_tokens=1, kaiming_init=False)
            for i in sorted(adapter_layers)
        }) if adapter_layers else None

    @property
    def width(self) -> int:
        """Width of the word features."""
        return self.text.width

    def init_weights(self) -> None:
        """Initialize, then load the CLIP text weights from ``pretrained`` if given."""
        super().init_weights()
        if self.pretrained:
            state = text_tower_state(load_clip_state_dict(self.pretrained))
            if 'positional_embedding' in state:
                state['positional_embedding'] = state['positional_embedding'][:self.word_len]
            load_pretrained(self.text, state, self.pretrained, 'CLIP text encoder')

    def _encode(self, texts: Sequence[str]) -> List[List[int]]:
        tok = _tokenizer()
        return [[self.sot_id] + tok.encode(text) + [self.eot_id] for text in texts]

    def tokenize(self, texts: Sequence[str]) -> Tensor:
        """Sentences -> B, word_len token ids (long) on the encoder's device."""
        full = self._encode(texts)
        self.truncation_stats.update(texts, [len(ids) for ids in full], self.training)
        tokens = torch.zeros(len(full), self.word_len, dtype=torch.long)
        for i, ids in enumerate(full):
            if len(ids) > self.word_len:
                ids = ids[:self.word_len - 1] + [self.eot_id]
            tokens[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return tokens.to(self.text.positional_embedding.device)

    def count_tokens(self, texts: Sequence[str]) -> List[int]:
        """Tokens each sentence needs, SOT and EOT included, before any cut; a sentence
        with more than ``word_len`` is cut by :meth:`tokenize`."""
        return [len(ids) for ids in self._encode(texts)]

    def forward(self, texts: Union[Sequence[str], Tensor]) -> TextFeatures:
        """
        Args:
            texts (Sequence[str] | Tensor): B sentences, or B x word_len token ids.

        Returns:
            TextFeatures: tokens (B, L), words (B, L, width, ``ln_final`` output),
            mask (B, L, True = padding), sentence (B, output_dim, EOT @ text_projection).
        """
        tokens = texts if isinstance(texts, Tensor) else self.tokenize(texts)
        if self.adapters is None:
            sentence, words = self.text(tokens)  # B, output_dim / B, L, width
        else:
            sentence, words = self._forward_adapted(tokens)
        eot = (tokens == self.eot_id).int().argmax(dim=-1)  # B
        mask = torch.arange(tokens.shape[1], device=tokens.device)[None] > eot[:, None]
        return TextFeatures(tokens, words, mask, sentence)

    def _forward_adapted(self, tokens: Tensor) -> tuple:
        """open_clip's ``TextTransformer.forward`` (causal mask, argmax pooling) with the
        adapters next to the MLPs of their blocks."""
        text = self.text
        x = text.token_embedding(tokens) + text.positional_embedding[:tokens.shape[1]]
        batch_first = getattr(text.transformer, 'batch_first', True)
        x = x if batch_first else x.transpose(0, 1)  # B, L, C (or L, B, C)
        for i, blk in enumerate(text.transformer.resblocks):
            x = x + blk.ls_1(blk.attention(blk.ln_1(x), attn_mask=text.attn_mask))
            y = blk.mlp(blk.ln_2(x))
            adapter = self.adapters[str(i)] if str(i) in self.adapters else None
            if adapter is not None:
                a = adapter(x if batch_first else x.transpose(0, 1))  # B, L, C
                y = y + self.adapter_scale * (a if batch_first else a.transpose(0, 1))
            x = x + blk.ls_2(y)
        x = text.ln_final(x if batch_first else x.transpose(0, 1))  # B, L, C
        sentence = text_global_pool(x, tokens, pool_type='argmax') @ text.text_projection
        return sentence, x  # B, output_dim / B, L, C
