"""BEiT-3 (torchscale) encoding the sentence together with a small view of the image: the
early vision-language fusion encoder of EVF-SAM."""
import os.path as osp
from functools import partial
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..utils.frozen import FrozenMixin
from ..utils.text_features import TextFeatures

#: BEiT-3 sizes (unilm beit3 ``_get_base_config`` / ``_get_large_config``).
BEIT3_ARCHS = {
    'base': dict(embed_dims=768, num_layers=12, num_heads=12, ffn_dims=3072),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16, ffn_dims=4096),
}


def _torchscale():
    try:
        from torchscale.architecture.config import EncoderConfig
        from torchscale.model.BEiT3 import BEiT3
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('BEiT3FusionEncoder needs `torchscale` (pip install torchscale '
                          '--no-deps, plus fairscale; see tools/install.sh)') from e
    return EncoderConfig, BEiT3


def build_xlmr_tokenizer(path: str):
    """The XLM-R sentencepiece tokenizer of BEiT-3 / EVF-SAM from a local file (the
    sentencepiece model) or directory (``sentencepiece.bpe.model`` and, e.g., the
    ``added_tokens.json`` of the multitask checkpoints)."""
    from transformers import XLMRobertaTokenizer
    if osp.isdir(path):
        return XLMRobertaTokenizer.from_pretrained(path, local_files_only=True)
    if not osp.isfile(path):
        raise FileNotFoundError(f'sentencepiece tokenizer model not found: {path}')
    return XLMRobertaTokenizer(vocab_file=path)


def _init_weights(m: nn.Module, std: float = .02) -> None:
    """unilm BEiT3Wrapper's init: truncated normal (std 0.02, cut at +-std) linears."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=std, a=-std, b=std)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def _scale_(layer: nn.Module, gain: float) -> None:
    """Multiply a layer's weight and bias by ``gain`` (an init choice)."""
    with torch.no_grad():
        layer.weight.mul_(gain)
        layer.bias.mul_(gain)


@MODELS.register_module()
class BEiT3FusionEncoder(FrozenMixin, BaseModule):
    """BEiT-3 over [image patches of a 224 x 224 view; sentence tokens]: every layer
    attends across both (the multiway FFNs split vision and language). Its first output
    token (the image's [CLS]) goes through Linear-ReLU-Linear to ``out_channels`` (SAM's
    prompt width): the sentence vector of :class:`TextFeatures`, which EVF-SAM's mask head
    appends to SAM's sparse prompt.

    It fills the text-encoder slot of :class:`ReferringEncoderDecoder` (it hands the head
    :class:`TextFeatures`); ``takes_image_view = True`` makes the segmentor pass the
    samples' ``img_view`` (from the :class:`ImageView` transform) along with the sentences.

    Sentences become ``<s> pieces </s>`` (XLM-R sentencepiece, ids as fairseq: <s> 0,
    <pad> 1, </s> 2), padded to the longest of the batch; padding is masked in attention,
    so the output does not depend on it.

    Args:
        tokenizer (str): Local sentencepiece model file, or a directory with
            ``sentencepiece.bpe.model`` (a released EVF-SAM checkpoint's directory).
        arch (str | dict): 'base' | 'large' or a dict of ``embed_dims``, ``num_layers``,
            ``num_heads``, ``ffn_dims``.
        vocab_size (int): Text embedding rows. Defaults to 64010 (BEiT-3).
        img_size (int): View size. Defaults to 224.
        patch_size (int): Defaults to 16.
        out_channels (int): Prompt width. Defaults to 256 (SAM).
        word_len (int): Longest token sequence kept (<s> and </s> included). Defaults to
            512 (EVF-SAM's tokenizer limit).
        drop_path_rate (float): Defaults to 0.
        mean (Sequence[float]): View normalisation mean (0-255 scale, RGB). Defaults to
            127.5 (BEiT-3: 0.5 on the 0-1 scale).
        std (Sequence[float]): Defaults to 127.5.
        bgr_to_rgb (bool): The view is BGR (images load BGR). Defaults to True.
        with_cp (bool): Activation checkpointing (fairscale). Defaults to False.
        init_std (float): Random init of BEiT-3's linears (truncated at +-std), used only
            without ``pretrained``. Defaults to 0.02 (unilm). A from-scratch toy may want
            more: at 0.02 a tiny BEiT-3's first token barely depends on the sentence.
        pos_init_std (float, optional): Random init of BEiT-3's position embeddings (image
            and text; truncated normal, cut at +-2 std), used only without ``pretrained``.
            None: torchscale's (PyTorch's N(0, 1), as unilm). From scratch, N(0, 1)
            positions drown the word embeddings (std ``embed_dims ** -0.5``): every token
            is mostly its position, and the first token's attention gathers little of the
            sentence. Defaults to None.
        proj_init_gain (float): Multiplies the prompt projection's last linear (weight
            and bias) at init, and so the prompt vector's size. 1: PyTorch's default init
            (the authors' ``text_hidden_fcs``); at the toy's width 64 that prompt is ~5x
            smaller than SAM's own tokens (N(0, 1) embeddings), and a decoder from
            scratch learns to read it slowly (docs/models/evf_sam.md "Toy"). Defaults
            to 1.
        view_init_gain (float): Multiplies the view's patch embedding (weight and bias)
            at init, used only without ``pretrained``. 1: PyTorch's default init. From
            scratch, a view token as large as a word is, through a random BEiT-3, noise
            in the prompt that the decoder must learn to ignore; a small gain starts it
            near its position embedding, so the image enters the prompt only as BEiT-3
            learns to use it (docs/models/evf_sam.md "Toy"). Defaults to 1.
        frozen (bool): BEiT-3 without gradients, in eval mode (the projection to the
            prompt still trains). EVF-SAM trains it; the from-scratch toy keeps its random
            init, which gives the prompt the sentence faster than training it does
            (docs/models/evf_sam.md "Toy"). Defaults to False.
        pretrained (str, optional): Local BEiT-3 checkpoint (unilm's ``.pth``, weights
            under ``model``, keys ``beit3.*``), loaded strictly by :meth:`init_weights`.
        init_cfg (dict, optional): Initialization config.
    """

    takes_image_view = True
    frozen_part = 'beit3'

    def __init__(self,
                 tokenizer: str,
                 arch: Union[str, dict] = 'large',
                 vocab_size: int = 64010,
                 img_size: int = 224,
                 patch_size: int = 16,
                 out_channels: int = 256,
                 word_len: int = 512,
                 drop_path_rate: float = 0.,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 bgr_to_rgb: bool = True,
                 with_cp: bool = False,
                 init_std: float = .02,
                 pos_init_std: Optional[float] = None,
                 proj_init_gain: float = 1.,
                 view_init_gain: float = 1.,
                 frozen: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        EncoderConfig, BEiT3 = _torchscale()
        a = BEIT3_ARCHS[arch] if isinstance(arch, str) else dict(arch)
        self.tokenizer_path = tokenizer
        self._tokenizer = None
        self.word_len = word_len
        self.img_size = img_size
        self.bgr_to_rgb = bgr_to_rgb
        self.pretrained = pretrained
        args = EncoderConfig(
            img_size=img_size, patch_size=patch_size, vocab_size=vocab_size, multiway=True,
            layernorm_embedding=False, normalize_output=True, no_output_layer=True,
            drop_path_rate=drop_path_rate, encoder_embed_dim=a['embed_dims'],
            encoder_attention_heads=a['num_heads'], encoder_ffn_embed_dim=a['ffn_dims'],
            encoder_layers=a['num_layers'], checkpoint_activations=with_cp)
        self.beit3 = BEiT3(args)
        self.beit3.apply(partial(_init_weights, std=init_std))
        if pos_init_std is not None:
            for pos in self.beit3.encoder.embed_positions.modules():
                if isinstance(pos, nn.Embedding):  # the image's and the text's
                    nn.init.trunc_normal_(pos.weight, std=pos_init_std, a=-2 * pos_init_std,
                                          b=2 * pos_init_std)
        _scale_(self.beit3.vision_embed.proj, view_init_gain)
        c = a['embed_dims']
        # PyTorch's default init, as the authors' text_hidden_fcs (unilm's truncated
        # +-0.02 init made the prompt ~0.004 wide: too faint for the decoder from scratch)
        self.proj = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, out_channels))
        _scale_(self.proj[2], proj_init_gain)
        self.frozen = frozen
        self._freeze()
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), False)

    @property
    def tokenizer(self):
        """The XLM-R tokenizer, built at first use (from the local ``tokenizer`` path)."""
        if self._tokenizer is None:
            self._tokenizer = build_xlmr_tokenizer(self.tokenizer_path)
        return self._tokenizer

    @property
    def width(self) -> int:
        """Width of the BEiT-3 tokens."""
        return self.proj[0].in_features

    def init_weights(self) -> None:
        """Load ``pretrained`` (the ``beit3.*`` weights, strictly) when given."""
        if not self.pretrained:
            return
        state = load_beit3_checkpoint(self.pretrained)
        self.beit3.load_state_dict(state, strict=True)
        print_log(f'BEiT3FusionEncoder: weights from {self.pretrained}', logger='current')

    def tokenize(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Sentences -> token ids (B, L, long) and padding mask (B, L, True = padding)."""
        enc = self.tokenizer(list(texts), padding='longest', truncation=True,
                             max_length=self.word_len, return_tensors='pt')
        device = self.proj[0].weight.device
        return enc['input_ids'].to(device), enc['attention_mask'].to(device) == 0

    def forward(self, texts: Sequence[str], views: Tensor) -> TextFeatures:
        """
        Args:
            texts (Sequence[str]): B sentences.
            views (Tensor): B, 3, img_size, img_size images (0-255 scale, unnormalised).

        Returns:
            TextFeatures: tokens (B, L), words (B, L, C: BEiT-3's text outputs), mask
            (B, L, True = padding), sentence (B, out_channels: the projected first token).
        """
        if views.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f'BEiT-3 view must be {self.img_size} x {self.img_size}, got '
                             f'{tuple(views.shape[-2:])} (ImageView scale)')
        tokens, pad = self.tokenize(texts)
        x = views.to(self.mean.dtype)
        x = (x.flip(1) if self.bgr_to_rgb else x) - self.mean
        x = x / self.std  # B, 3, 224, 224
        with self.frozen_grad():
            out = self.beit3(textual_tokens=tokens, visual_tokens=x,
                             text_padding_position=pad)
        h = out['encoder_out']  # B, 1 + 196 + L, C
        words = h[:, out['multiway_split_position']:]  # B, L, C
        return TextFeatures(tokens, words, pad, self.proj(h[:, 0]))  # sentence: B, 256


def load_beit3_checkpoint(path: str) -> Dict[str, Tensor]:
    """``beit3.*`` weights of a local BEiT-3 checkpoint, the prefix removed (unilm's
    ``.pth`` holds them under ``model``, next to task heads that are not kept)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'BEiT-3 checkpoint not found: {path}')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    state = ckpt.get('model', ckpt) if isinstance(ckpt, dict) else ckpt
    out = {k[len('beit3.'):]: v for k, v in state.items() if k.startswith('beit3.')}
    if not out:
        raise KeyError(f'{path}: no beit3.* weights (keys: {list(state)[:5]} ...)')
    return out


__all__ = ['BEiT3FusionEncoder', 'build_xlmr_tokenizer', 'load_beit3_checkpoint',
           'BEIT3_ARCHS']
