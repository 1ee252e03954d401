"""SAM's ViT image encoder (``segment_anything``), frozen by default."""
import os.path as osp
from functools import partial
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..utils.frozen import FrozenMixin

#: segment_anything's build_sam_vit_{b,l,h}.
SAM_ARCHS = {
    'vit_b': dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11)),
    'vit_l': dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23)),
    'vit_h': dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31)),
}


def load_sam_state(path: str, prefix: str) -> Dict[str, Tensor]:
    """The ``prefix``-ed weights of a local SAM / SAM-2 checkpoint (SAM's ``.pth`` is a
    plain state dict, SAM-2's ``.pt`` holds it under ``model``), the prefix removed."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'SAM checkpoint not found: {path}')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    state = ckpt.get('model', ckpt)
    out = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not out:
        raise KeyError(f'{path}: no {prefix}* weights')
    return out


@MODELS.register_module()
class SAMImageEncoder(FrozenMixin, BaseModule):
    """``segment_anything.modeling.ImageEncoderViT``: a B, 3, S, S image (S = ``img_size``,
    1024 for SAM) -> B, ``out_chans``, S / 16, S / 16 embeddings.

    Args:
        arch (str | dict): 'vit_b' | 'vit_l' | 'vit_h' or a dict of ``embed_dim``,
            ``depth``, ``num_heads``, ``global_attn_indexes``.
        img_size (int): Defaults to 1024.
        patch_size (int): Defaults to 16.
        out_chans (int): Defaults to 256 (SAM's prompt width).
        window_size (int): Local attention window. Defaults to 14.
        frozen (bool): Defaults to True (EVF-SAM).
        pretrained (str, optional): Local SAM checkpoint; its ``image_encoder.*`` weights
            load strictly in :meth:`init_weights`.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'vit_h',
                 img_size: int = 1024,
                 patch_size: int = 16,
                 out_chans: int = 256,
                 window_size: int = 14,
                 frozen: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        from segment_anything.modeling import ImageEncoderViT
        a = SAM_ARCHS[arch] if isinstance(arch, str) else dict(arch)
        self.encoder = ImageEncoderViT(
            img_size=img_size, patch_size=patch_size, embed_dim=a['embed_dim'],
            depth=a['depth'], num_heads=a['num_heads'], mlp_ratio=4, out_chans=out_chans,
            qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), use_rel_pos=True,
            window_size=window_size, global_attn_indexes=tuple(a['global_attn_indexes']))
        self.frozen = frozen
        self.pretrained = pretrained
        self._freeze()

    def init_weights(self) -> None:
        if self.pretrained:
            self.encoder.load_state_dict(load_sam_state(self.pretrained, 'image_encoder.'))
            print_log(f'SAMImageEncoder: weights from {self.pretrained}', logger='current')

    def forward(self, x: Tensor) -> Tensor:
        """B, 3, 1024, 1024 -> B, 256, 64, 64."""
        with self.frozen_grad():
            return self.encoder(x)


__all__ = ['SAMImageEncoder', 'load_sam_state', 'SAM_ARCHS']
