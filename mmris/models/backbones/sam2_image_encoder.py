"""SAM-2's Hiera image encoder with its FPN neck (``sam2``), frozen by default."""
import contextlib
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..utils.frozen import FrozenMixin
from .sam_image_encoder import load_sam_state

#: sam2_hiera_{t,s,b+,l}.yaml trunks (SAM 2.0; EVF-SAM2 uses hiera_l).
HIERA_ARCHS = {
    'hiera_t': dict(embed_dim=96, num_heads=1, stages=(1, 2, 7, 2),
                    global_att_blocks=(5, 7, 9), window_pos_embed_bkg_spatial_size=(7, 7)),
    'hiera_s': dict(embed_dim=96, num_heads=1, stages=(1, 2, 11, 2),
                    global_att_blocks=(7, 10, 13), window_pos_embed_bkg_spatial_size=(7, 7)),
    'hiera_b+': dict(embed_dim=112, num_heads=2, stages=(2, 3, 16, 3),
                     global_att_blocks=(12, 16, 20), window_pos_embed_bkg_spatial_size=(14, 14)),
    'hiera_l': dict(embed_dim=144, num_heads=2, stages=(2, 6, 36, 4),
                    global_att_blocks=(23, 33, 43), window_pos_embed_bkg_spatial_size=(7, 7),
                    window_spec=(8, 4, 16, 8)),
}


@MODELS.register_module()
class SAM2ImageEncoder(FrozenMixin, BaseModule):
    """``sam2``'s ``ImageEncoder(Hiera, FpnNeck, scalp=1)``, returning the three maps that
    SAM-2's mask decoder reads, as SAM-2's image path prepares them (no memory: the
    ``no_mem_embed`` vector added to the coarsest map):

    B, 3, 1024, 1024 -> [B, 256, 256, 256; B, 256, 128, 128; B, 256, 64, 64].

    (SAM-2's ``conv_s0`` / ``conv_s1`` on the two fine maps belong to its mask decoder:
    :class:`SAM2MaskHead` applies them.)

    Args:
        arch (str | dict): 'hiera_t' | 'hiera_s' | 'hiera_b+' | 'hiera_l' or a dict of
            ``Hiera`` arguments.
        d_model (int): FPN width. Defaults to 256.
        fpn_top_down_levels (Sequence[int]): Defaults to (2, 3).
        frozen (bool): Defaults to True (EVF-SAM2).
        pretrained (str, optional): Local SAM-2 checkpoint; its ``image_encoder.*`` and
            ``no_mem_embed`` load strictly in :meth:`init_weights`.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 arch='hiera_l',
                 d_model: int = 256,
                 fpn_top_down_levels: Sequence[int] = (2, 3),
                 frozen: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        from sam2.modeling.backbones.hieradet import Hiera
        from sam2.modeling.backbones.image_encoder import FpnNeck, ImageEncoder
        from sam2.modeling.position_encoding import PositionEmbeddingSine
        a = dict(HIERA_ARCHS[arch] if isinstance(arch, str) else arch)
        a = {k: list(v) if isinstance(v, tuple) else v for k, v in a.items()}
        # Hiera reads its drop-path rates with .item(): on the meta device (a cheap build of
        # the full-size configs) build it on the CPU and move it
        meta = torch.empty(0).device.type == 'meta'
        with torch.device('cpu') if meta else contextlib.nullcontext():
            trunk = Hiera(**a)
        trunk = trunk.to('meta') if meta else trunk
        neck = FpnNeck(
            position_encoding=PositionEmbeddingSine(num_pos_feats=d_model, normalize=True,
                                                    temperature=10000),
            d_model=d_model, backbone_channel_list=trunk.channel_list,
            fpn_top_down_levels=list(fpn_top_down_levels), fpn_interp_model='nearest')
        self.image_encoder = ImageEncoder(trunk=trunk, neck=neck, scalp=1)
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, d_model))
        nn.init.trunc_normal_(self.no_mem_embed, std=0.02)
        self.frozen = frozen
        self.pretrained = pretrained
        self._freeze()

    def init_weights(self) -> None:
        if self.pretrained:
            state = {f'image_encoder.{k}': v for k, v in
                     load_sam_state(self.pretrained, 'image_encoder.').items()}
            state['no_mem_embed'] = load_sam_state(self.pretrained, 'no_mem_embed')['']
            self.load_state_dict(state)
            print_log(f'SAM2ImageEncoder: weights from {self.pretrained}', logger='current')

    def forward(self, x: Tensor) -> List[Tensor]:
        with self.frozen_grad():
            maps = self.image_encoder(x)['backbone_fpn']  # fine to coarse, 3 maps
            # B, 256, 64, 64 + (1, 1, 256) as B, 256, 1, 1
            maps[-1] = maps[-1] + self.no_mem_embed.view(1, -1, 1, 1)
            return maps


__all__ = ['SAM2ImageEncoder', 'HIERA_ARCHS']
