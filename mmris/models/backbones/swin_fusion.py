"""Swin Transformer with a language-fusion block after each stage (LAVT, CoupAlign)."""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from mmengine.model.weight_init import constant_init, trunc_normal_, trunc_normal_init
from mmengine.runner import CheckpointLoader
from mmseg.models.backbones import SwinTransformer
from mmseg.models.backbones.swin import WindowMSA
from torch import Tensor

from mmris.registry import MODELS
from ..layers.pixel_word_attention import fusion_blocks, reset_gates
from ..layers.positional_encoding import sine_pos_2d
from ..utils.pretrained import load_pretrained
from ..utils.text_features import TextFeatures


def _unfold_order(x: Tensor) -> Tensor:
    """Official PatchMerging input order (x0, x1, x2, x3 concat) -> mmcv's nn.Unfold order.

    Official: [top-left, bottom-left, top-right, bottom-right] blocks of C channels; Unfold:
    channel-major, each channel's 2x2 patch in row-major order. Works on the last dim.
    """
    c = x.shape[-1] // 4
    x = x.reshape(*x.shape[:-1], 4, c)[..., [0, 2, 1, 3], :]  # ..., 4 (row-major), C
    return x.transpose(-1, -2).reshape(*x.shape[:-2], 4 * c)


def convert_official_swin(state: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Official Swin keys (microsoft/Swin-Transformer) -> mmseg's ``SwinTransformer``.

    ``layers.*`` -> ``stages.*``, ``attn.*`` -> ``attn.w_msa.*``, ``mlp.fc1/fc2`` ->
    ``ffn.layers.0.0 / ffn.layers.1``, ``patch_embed.proj`` -> ``patch_embed.projection``;
    the patch-merging reduction / norm re-ordered for nn.Unfold. The classifier (``head.*``),
    the final ``norm.*`` and the shifted-window ``attn_mask`` buffers are dropped. Keys that
    are not Swin's are kept as they are.

    Args:
        state (dict[str, Tensor]): Official state dict.

    Returns:
        OrderedDict[str, Tensor]: mmseg-style state dict.
    """
    out = OrderedDict()
    for k, v in state.items():
        if k.startswith(('head.', 'norm.')) or k.endswith('attn_mask'):
            continue
        if k.startswith('layers.'):
            k = 'stages.' + k[len('layers.'):]
            k = k.replace('.attn.', '.attn.w_msa.').replace('.mlp.fc1.', '.ffn.layers.0.0.')
            k = k.replace('.mlp.fc2.', '.ffn.layers.1.')
            if '.downsample.' in k:
                v = _unfold_order(v)
        elif k.startswith('patch_embed.proj.'):
            k = k.replace('patch_embed.proj.', 'patch_embed.projection.')
        out[k] = v
    return out


def conv_stem(in_channels: int, channels: Sequence[int], out_channels: int,
              stride: int) -> nn.Sequential:
    """3x3 conv-BN-ReLU layers (the first log2(stride) of stride 2), then a 1x1 conv:
    B, in_channels, H, W -> B, out_channels, H / stride, W / stride."""
    num_down = int(math.log2(stride))
    if 2**num_down != stride or len(channels) < num_down:
        raise ValueError(f'a conv stem of stride {stride} needs a power of 2 and at least '
                         f'{num_down} layers, got stem_channels={list(channels)}')
    layers, c_in = [], in_channels
    for i, c in enumerate(channels):
        layers.append(ConvModule(c_in, c, 3, stride=2 if i < num_down else 1, padding=1,
                                 norm_cfg=dict(type='BN')))
        c_in = c
    return nn.Sequential(*layers, nn.Conv2d(c_in, out_channels, 1))


def _is_official(state: Dict[str, Tensor]) -> bool:
    return any(k.startswith('layers.') for k in state)


@MODELS.register_module()
class SwinFusion(SwinTransformer):
    """mmseg's Swin Transformer with a fusion block between each stage's blocks and its
    patch merging, as LAVT does: ``x, out, words = fusion_i(x, hw, words, word_mask)``.

    ``out`` (layer-normed by ``norm{i}`` if ``out_norms``) is the stage's output map, ``x``
    continues to the next stage. ``takes_text = True``: the segmentor calls
    ``backbone(img, text)``.

    Args:
        fusion (dict, optional): Fusion block config (e.g. ``dict(type='PWAMFusion')`` or
            ``dict(type='WordPixelAlignment', num_heads=[4, 8, 16, 32])``), built once per
            stage with that stage's ``dims`` and ``text_dims``; a list ``num_heads`` is
            indexed by stage. None: a plain Swin (the words are ignored).
        text_dims (int): Width of the word features. Defaults to 768 (BERT-base).
        text_stages (Sequence[int], optional): Interleave the text encoder's layers with
            the stages (MagNet): before fusion ``i`` the words go through layers
            ``text_stages[i-1]`` .. ``text_stages[i] - 1`` of the bound
            ``BERTTextEncoder`` (``run_layers=False``, so its words are the embeddings),
            e.g. (3, 6, 9, 12); ``forward`` then returns ``(maps, TextFeatures)`` with the
            final words. None: the words are used as given. Defaults to None.
        pretrained (str, optional): ImageNet checkpoint of the Swin, official format (e.g.
            ``swin_base_patch4_window12_384_22k.pth``, converted on the fly) or mmseg's;
            loaded by :meth:`init_weights` (relative position tables resized to the window;
            fusion blocks and per-stage norms keep their init); every other Swin tensor must
            be in the file or it is a ``PretrainedMismatchError`` (see :meth:`load_swin`).
            Defaults to None.
        out_norms (bool): Layer-norm each stage output with ``norm{i}`` (mmseg's Swin,
            LAVT). False: the outputs are handed on as the fusion blocks return them and
            ``norm{i}`` are identities without parameters (MagNet: ``MultiModalSwin``'s
            ``forward_pwam*`` return the CAM mixer outputs un-normed). Defaults to True.
        sine_pos (bool): Add fixed 2-D sine positions (``sine_pos_2d``, x in the first half
            of the channels, y in the second) to the patch embeddings, at whatever input
            size. Swin has only relative positions inside its windows; a Swin trained from
            scratch then hardly knows where a pixel is, which spatial words ("leftmost",
            "on the right") need (the toy configs). ImageNet-pretrained Swins (LAVT,
            CoupAlign, MagNet) have no such term. Defaults to False.
        stem_channels (Sequence[int], optional): Replace the patch embedding's single
            ``patch_size`` x ``patch_size`` projection by a convolutional stem ("early
            convolutions", Xiao et al., NeurIPS 2021): 3x3 conv-BN-ReLU layers of these
            widths, the first log2(patch_size) of stride 2, then a 1x1 conv to
            ``embed_dims`` (the patch norm follows as before). It gives a Swin trained from
            scratch the local shape features a 4 x 4 linear patch lacks (the toy configs);
            the ImageNet-pretrained configs keep the official patch embedding (an official
            checkpoint's ``patch_embed.projection`` does not fit a stem). None: the
            official patch embedding. Defaults to None.
        fit_windows_to (int, optional): Input side at which to fit the windows as the
            official Swin does at its ``img_size``: a stage whose map is no larger than
            ``window_size`` attends within one window of the map's size, unshifted (mmseg
            pads such a map to the window and shifts it into masked parts). With window
            8 at 128 (the toy configs) stage 3's 8 x 8 map then attends whole in both
            blocks and stage 4's 4 x 4 map is not padded to 8 x 8 (a quarter of its
            attention's work). Maps larger than the window (Swin-B window 12 at 480: the
            smallest is 15 x 15) are not affected. None: mmseg's windows. Defaults to None.
        **kwargs: mmseg ``SwinTransformer`` arguments (``embed_dims``, ``depths``,
            ``num_heads``, ``window_size``, ``drop_path_rate``, ``out_indices``...).
    """
    takes_text = True
    #: keys of the model an ImageNet Swin checkpoint lacks (``re.match``): the fusion blocks,
    #: the per-stage output norms (LAVT's; the classifier has one final ``norm``), and the
    #: relative position indices (computed for the window)
    NOT_IN_IMAGENET_SWIN = (r'fusions\.', r'norm\d+\.', r'.*relative_position_index$')
    #: keys of a Swin checkpoint the model does not use: the classifier ``head``, its final
    #: ``norm`` and computed buffers
    NOT_IN_SWIN_FUSION = (r'head\.', r'norm\.', r'.*attn_mask$', r'.*relative_position_index$')

    def __init__(self,
                 fusion: Optional[dict] = dict(type='PWAMFusion'),
                 text_dims: int = 768,
                 text_stages: Optional[Sequence[int]] = None,
                 pretrained: Optional[str] = None,
                 out_norms: bool = True,
                 sine_pos: bool = False,
                 stem_channels: Optional[Sequence[int]] = None,
                 fit_windows_to: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        patch_size = kwargs.get('patch_size', 4)  # mmseg's default
        if fit_windows_to:
            self._fit_windows(fit_windows_to // patch_size)
        self.sine_pos = sine_pos
        if stem_channels:
            self.patch_embed.projection = conv_stem(
                kwargs.get('in_channels', 3), stem_channels, self.num_features[0], patch_size)
        if not out_norms:  # identities keep mmseg's norm{i} lookups (_freeze_stages) working
            for i in self.out_indices:
                setattr(self, f'norm{i}', nn.Identity())
        self.text_stages = tuple(text_stages) if text_stages else None
        self._text_encoder: tuple = ()
        self.pretrained_swin = pretrained
        self.fusions = fusion_blocks(fusion, self.num_features, text_dims)

    def _fit_windows(self, side: int) -> None:
        """Stages whose ``side`` x ``side`` map (halved per stage) fits in a window: one
        unshifted window of the map's size (a new, smaller relative position table)."""
        for stage in self.stages:
            for block in stage.blocks:
                attn = block.attn  # mmseg ShiftWindowMSA
                if side <= attn.window_size:
                    old = attn.w_msa
                    attn.window_size, attn.shift_size = side, 0
                    attn.w_msa = WindowMSA(old.embed_dims, old.num_heads, (side, side),
                                           qkv_bias=old.qkv.bias is not None,
                                           qk_scale=old.scale)
            side = (side + 1) // 2  # patch merging pads odd maps

    def bind_text_encoder(self, encoder) -> None:
        """Keep the segmentor's text encoder (not a submodule) for ``text_stages``."""
        self._text_encoder = (encoder, )

    def init_weights(self) -> None:
        """mmseg's Swin init from scratch (trunc-normal Linear, unit LN, also over the fusion
        blocks), the gates' own init, then the ImageNet Swin weights if ``pretrained`` (or
        ``init_cfg=dict(type='Pretrained', checkpoint=...)``, mmseg's way).

        mmseg's ``SwinTransformer.init_weights`` is not called: it logs "No pre-trained
        weights for SwinFusion, training start from scratch" whenever ``init_cfg`` is
        None, which is wrong after :meth:`load_swin`.
        """
        if self.use_abs_pos_embed:
            trunc_normal_(self.absolute_pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1.0, bias=0.)
        reset_gates(self.fusions)
        init_cfg = self.init_cfg if isinstance(self.init_cfg, dict) else {}
        checkpoint = self.pretrained_swin or (
            init_cfg.get('checkpoint') if init_cfg.get('type') == 'Pretrained' else None)
        if checkpoint:
            self.load_swin(checkpoint)
        else:
            print_log('SwinFusion: no pretrained Swin, random init', logger='current')

    def load_swin(self, filename: str) -> None:
        """Load an official or mmseg Swin checkpoint (or the ``backbone.*`` part of a
        segmentor's) into the Swin part: every Swin tensor must be in the file with its
        shape (relative position tables are resized to the window), apart from
        :attr:`NOT_IN_IMAGENET_SWIN`; the file may hold :attr:`NOT_IN_SWIN_FUSION` besides.

        Raises:
            PretrainedMismatchError: naming the file and the first unmatched keys.
        """
        ckpt = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
        state = ckpt.get('state_dict', ckpt.get('model', ckpt))
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in state.items()}
        if any(k.startswith('backbone.') for k in state):
            state = {k[len('backbone.'):]: v for k, v in state.items()
                     if k.startswith('backbone.')}
        if _is_official(state):
            state = convert_official_swin(state)
        own = self.state_dict()
        for k in [k for k in state if k.endswith('relative_position_bias_table')]:
            if k in own and state[k].shape != own[k].shape:
                state[k] = self._resize_table(state[k], own[k].shape)
        state = {k: v for k, v in state.items() if not k.endswith('relative_position_index')}
        load_pretrained(self, state, filename, 'SwinFusion image backbone',
                        tolerated_missing=self.NOT_IN_IMAGENET_SWIN,
                        tolerated_unexpected=self.NOT_IN_SWIN_FUSION)

    @staticmethod
    def _resize_table(table: Tensor, shape: torch.Size) -> Tensor:
        """(2w-1)^2, heads relative position table -> another window, bicubic."""
        s1, s2 = int(table.shape[0]**0.5), int(shape[0]**0.5)
        grid = table.T.reshape(1, -1, s1, s1)  # 1, heads, s1, s1
        return F.interpolate(grid, (s2, s2), mode='bicubic').reshape(-1, s2 * s2).T

    def forward(self, x: Tensor, text: TextFeatures) -> List[Tensor]:
        """
        Args:
            x (Tensor): B, 3, H, W images.
            text (TextFeatures): ``words`` B, L, D and ``mask`` B, L (True = padding).

        Returns:
            list[Tensor]: stage outputs of ``out_indices`` (with ``text_stages``: and the
            final text features), B, C_i, H / 2^(i+2), W / 2^(i+2)
            (Swin-B at 480: 128 x 120 x 120, 256 x 60 x 60, 512 x 30 x 30, 1024 x 15 x 15).
        """
        x, hw_shape = self.patch_embed(x)  # B, HW/16, C
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        if self.sine_pos:
            x = x + sine_pos_2d(x.shape[-1], *hw_shape, device=x.device).to(x.dtype)
        x = self.drop_after_pos(x)
        words, word_mask = text.words, text.mask
        attn = (~word_mask).long()  # B, L, 1 = token
        outs = []
        for i, stage in enumerate(self.stages):
            for block in stage.blocks:
                x = block(x, hw_shape)  # B, HW, C_i
            if self.text_stages:  # BERT layers of this stage, B, L, D
                start = self.text_stages[i - 1] if i else 0
                words = self._text_encoder[0].forward_layers(words, attn, start,
                                                             self.text_stages[i])
            x, out, words = self.fusions[i](x, hw_shape, words, word_mask)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(out)
                outs.append(out.view(-1, *hw_shape, self.num_features[i])
                            .permute(0, 3, 1, 2).contiguous())  # B, C_i, H_i, W_i
            if stage.downsample is not None:
                x, hw_shape = stage.downsample(x, hw_shape)
        if self.text_stages:
            sentence = self._text_encoder[0].pool(words, attn)
            return outs, TextFeatures(text.tokens, words, word_mask, sentence)
        return outs
