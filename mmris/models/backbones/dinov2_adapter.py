"""DINOv2 with registers (timm's ViT) and DETRIS's dense adapters, text-conditioned."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor

from mmris.registry import MODELS
from ..layers.adapter import DenseAdapter
from ..utils.dinov2_checkpoint import convert_dinov2
from ..utils.pretrained import load_pretrained
from ..utils.text_features import TextFeatures

# timm's vit_{base,large}_patch14_reg4_dinov2 (patch 14, 4 registers, LayerScale, the class
# and register tokens outside the position embedding)
ARCHS = {
    'vit-s': dict(embed_dim=384, depth=12, num_heads=6),
    'vit-b': dict(embed_dim=768, depth=12, num_heads=12),
    'vit-l': dict(embed_dim=1024, depth=24, num_heads=16),
}


@MODELS.register_module()
class DINOv2Adapter(BaseModule):
    """Frozen DINOv2 ViT with registers (timm's ``VisionTransformer``) with DETRIS's Dense
    Aligners, which attend to the words, at ``adapter_layers``.

    Block ``i``: ``x = x + ls1(attn(norm1(x)))``; ``h = norm2(x)``; ``x = x + ls2(mlp(h) +
    adapter_scale * adapter_i(h, words))`` (DETRIS: the adapter inside LayerScale). Outputs:
    the tokens after the blocks in ``out_indices`` (not normalised) and the final normalised
    tokens, patch tokens only, as B x C x H/14 x W/14 maps (32 x 32 at 448): DETRIS's
    ``output_dinov2`` levels. The text encoder runs first (``takes_text``); the words are its
    ``ln_final`` output, padding included (no mask, as DETRIS).

    Args:
        arch (str | dict): 'vit-s', 'vit-b', 'vit-l' or ``dict(embed_dim, depth,
            num_heads)``. Defaults to 'vit-l'.
        img_size (int): Input size the position embedding is made for (Meta's 37 x 37 grid
            is resampled to it when loading). Defaults to 448.
        patch_size (int): Defaults to 14.
        num_reg_tokens (int): Register tokens. Defaults to 4.
        out_indices (Sequence[int]): Blocks whose outputs are returned before the final
            normalised one. Defaults to (8, 16).
        adapter_layers (Sequence[int]): Blocks with an adapter. Defaults to
            (2, 6, 10, 14, 18, 22).
        adapter_dims (int): Adapter bottleneck width. Defaults to 128.
        adapter_scale (float): Scale of the adapter outputs. Defaults to 0.2.
        text_dims (int): Word width. Defaults to 512.
        frozen (bool): Freeze the ViT (``requires_grad=False``). Defaults to True.
        stem_channels (Sequence[int]): For models trained from scratch (the toy): replace the
            linear patch embedding by ``len(stem_channels)`` 3x3 stride-2 conv-BN-ReLU layers
            of these widths and a 1x1 conv to the ViT width (``2 ** len == patch_size``).
            Defaults to () (DINOv2's patch embedding).
        pretrained (str, optional): Meta's ``dinov2_vit*14_reg4_pretrain.pth`` (local),
            loaded strictly by :meth:`init_weights`.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """
    takes_text = True

    def __init__(self,
                 arch: Union[str, dict] = 'vit-l',
                 img_size: int = 448,
                 patch_size: int = 14,
                 num_reg_tokens: int = 4,
                 out_indices: Sequence[int] = (8, 16),
                 adapter_layers: Sequence[int] = (2, 6, 10, 14, 18, 22),
                 adapter_dims: int = 128,
                 adapter_scale: float = 0.2,
                 text_dims: int = 512,
                 frozen: bool = True,
                 stem_channels: Sequence[int] = (),
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        cfg = ARCHS[arch] if isinstance(arch, str) else arch
        self.vit = VisionTransformer(
            img_size=img_size, patch_size=patch_size, num_classes=0, global_pool='',
            init_values=1e-5, reg_tokens=num_reg_tokens, no_embed_class=True, **cfg)
        depth, width = cfg['depth'], cfg['embed_dim']
        if stem_channels:
            assert 2**len(stem_channels) == patch_size, (stem_channels, patch_size)
            convs, cin = [], 3
            for c in stem_channels:
                convs.append(ConvModule(cin, c, 3, 2, 1, norm_cfg=dict(type='BN')))
                cin = c
            self.vit.patch_embed.proj = nn.Sequential(*convs, nn.Conv2d(cin, width, 1))
        assert all(0 <= i < depth for i in (*out_indices, *adapter_layers))
        self.out_indices = tuple(out_indices)
        self.pretrained = pretrained
        self.frozen = frozen
        if frozen:
            self.vit.requires_grad_(False)
        self.adapter_scale = adapter_scale
        self.adapters = nn.ModuleDict({
            str(i): DenseAdapter(width, adapter_dims, spatial_dims=2,
                                 num_prefix_tokens=1 + num_reg_tokens, text_dims=text_dims)
            for i in sorted(adapter_layers)
        })

    def init_weights(self) -> None:
        """Initialize, then load Meta's DINOv2 weights from ``pretrained`` if given."""
        super().init_weights()
        if not self.pretrained:
            return
        if not osp.isfile(self.pretrained):
            raise FileNotFoundError(f'DINOv2 checkpoint not found: {self.pretrained}')
        state = torch.load(self.pretrained, map_location='cpu', weights_only=True)
        load_pretrained(self.vit, convert_dinov2(state, self.vit.patch_embed.grid_size),
                        self.pretrained, f'DINOv2 {type(self).__name__}.vit')

    def forward(self, x: Tensor, text: TextFeatures) -> Tuple[Tensor, ...]:
        """
        Args:
            x (Tensor): B, 3, H, W images (H, W = ``img_size``).
            text (TextFeatures): ``text.words`` B, L, text_dims.

        Returns:
            tuple[Tensor]: len(out_indices) + 1 maps B, C, H/14, W/14 (e.g. 3 x B, 1024,
            32, 32).
        """
        vit = self.vit
        B = x.shape[0]
        grid = (x.shape[2] // vit.patch_embed.patch_size[0],
                x.shape[3] // vit.patch_embed.patch_size[1])
        x = vit.norm_pre(vit._pos_embed(vit.patch_embed(x)))  # B, P + HW, C
        P = vit.num_prefix_tokens
        outs: List[Tensor] = []
        for i, blk in enumerate(vit.blocks):
            x = x + blk.drop_path1(blk.ls1(blk.attn(blk.norm1(x))))
            h = blk.norm2(x)
            y = blk.mlp(h)
            if str(i) in self.adapters:
                y = y + self.adapter_scale * self.adapters[str(i)](h, grid, text.words)
            x = x + blk.drop_path2(blk.ls2(y))  # B, P + HW, C
            if i in self.out_indices:
                outs.append(x)
        outs.append(vit.norm(x))
        return tuple(o[:, P:].transpose(1, 2).reshape(B, -1, *grid) for o in outs)
