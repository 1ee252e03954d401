"""CLIP image towers (open_clip's ModifiedResNet / VisionTransformer) with dense outputs."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from open_clip.modified_resnet import AttentionPool2d, ModifiedResNet
from open_clip.transformer import QuickGELU, VisionTransformer
from torch import Tensor

from mmris.registry import MODELS
from ..utils.clip_checkpoint import image_tower_state, load_clip_state_dict
from ..utils.pretrained import load_pretrained

# OpenAI CLIP image towers; ResNets: layers per stage, ViTs: number of blocks.
ARCHS = {
    'RN50': dict(layers=[3, 4, 6, 3], width=64, heads=32, output_dim=1024),
    'RN101': dict(layers=[3, 4, 23, 3], width=64, heads=32, output_dim=512),
    'ViT-B-16': dict(layers=12, width=768, heads=12, patch_size=16, output_dim=512),
    'ViT-L-14': dict(layers=24, width=1024, heads=16, patch_size=14, output_dim=768),
}


def resize_grid_pos(pos: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resize square-grid positional embeddings bicubically.

    Args:
        pos (Tensor): G*G, C.
        size (tuple): Target (h, w).

    Returns:
        Tensor: h*w, C.
    """
    g = int(round(int(pos.shape[0])**0.5))  # int(): also under jit tracing
    if (g, g) == tuple(size):
        return pos
    grid = pos.reshape(1, g, g, -1).permute(0, 3, 1, 2)  # 1, C, G, G
    grid = F.interpolate(grid.float(), size=size, mode='bicubic', align_corners=False)
    return grid.flatten(2)[0].t().to(pos.dtype)  # hw, C


class DenseAttentionPool2d(AttentionPool2d):
    """CLIP's attention pool made dense, as in CRIS.

    Every pixel attends to every pixel (the mean token is dropped from the sequence), with the
    positional embedding resized bicubically to the feature grid, plus a residual 1x1 conv + BN
    and a ReLU. Optionally also returns CLIP's global vector: the mean token with the class
    position, attending to itself and all pixels (CLIP's original output).

    Args:
        spacial_dim (int): Grid size the positional embedding is stored for.
        embed_dim (int): Input channels.
        num_heads (int): Attention heads.
        output_dim (int): Output channels.
    """

    def __init__(self, spacial_dim: int, embed_dim: int, num_heads: int,
                 output_dim: int) -> None:
        super().__init__(spacial_dim, embed_dim, num_heads, output_dim)
        self.connect = nn.Sequential(nn.Conv2d(embed_dim, output_dim, 1, bias=False),
                                     nn.BatchNorm2d(output_dim))

    def _attend(self, q_in: Tensor, kv_in: Tensor) -> Tensor:
        # B, Lq, C / B, Lk, C -> B, Lq, output_dim
        B, Lq, C = q_in.shape
        h = self.num_heads
        q = self.q_proj(q_in).reshape(B, Lq, h, -1).transpose(1, 2)
        k = self.k_proj(kv_in).reshape(B, kv_in.shape[1], h, -1).transpose(1, 2)
        v = self.v_proj(kv_in).reshape(B, kv_in.shape[1], h, -1).transpose(1, 2)
        x = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, Lq, C)
        return self.c_proj(x)

    def forward(self, x: Tensor, with_global: bool = False):
        """
        Args:
            x (Tensor): B, C, H, W (e.g. B, 2048, 13, 13).
            with_global (bool): Also return the global vector.

        Returns:
            Tensor | tuple: B, output_dim, H, W dense map (and B, output_dim global vector).
        """
        B, C, H, W = x.shape
        res = self.connect(x)  # B, out, H, W
        pos = self.positional_embedding.to(x.dtype)
        tokens = x.flatten(2).transpose(1, 2) + resize_grid_pos(pos[1:], (H, W))  # B, HW, C
        dense = self._attend(tokens, tokens).transpose(1, 2).reshape(B, -1, H, W)
        dense = F.relu(dense + res, inplace=True)
        if not with_global:
            return dense
        mean = x.mean(dim=(2, 3))[:, None] + pos[:1]  # B, 1, C
        glob = self._attend(mean, torch.cat([mean, tokens], dim=1))[:, 0]  # B, out
        return dense, glob


@MODELS.register_module()
class CLIPImageEncoder(BaseModule):
    """CLIP image tower returning dense multi-level maps (and the global vector).

    ResNets (open_clip's ``ModifiedResNet``): the attention pool is replaced by
    :class:`DenseAttentionPool2d`; ``out_indices`` pick among
    (layer1, layer2, layer3, dense pool over layer4), strides 4, 8, 16, 32. CRIS uses
    (1, 2, 3): RN50 -> 512 x H/8, 1024 x H/16, 1024 x H/32 channels.

    ViTs (open_clip's ``VisionTransformer``): ``out_indices`` pick transformer blocks; each
    gives its patch tokens as a ``width x H/p x W/p`` map (before ``ln_post``); the global
    vector is ``ln_post(class token) @ proj``. Defaults to the last block.

    With ``vit_levels`` (MMNet's ViT), three convolutions make maps at strides 8, 16 and 32
    from the patch maps: a 2x2 stride-2 transposed conv, a 3x3 conv and a 3x3 stride-2 conv,
    each with BN and ReLU. One patch map (one out index) feeds all three, three feed one each.

    Positional embeddings are resized to the input's grid at every forward pass.

    Args:
        arch (str | dict): 'RN50', 'RN101', 'ViT-B-16', 'ViT-L-14', or a dict: ResNet
            ``dict(layers=[l1, l2, l3, l4], width, heads, output_dim)``, ViT
            ``dict(layers=n, width, heads, patch_size, output_dim)``; optional
            ``image_size`` (the grid the positional embedding is stored for, default 224).
        out_indices (Sequence[int], optional): Outputs (see above). Defaults to (1, 2, 3)
            for ResNets and (layers - 1,) for ViTs.
        out_global (bool): Append the global vector (B x output_dim) as the last output.
            Defaults to False.
        quick_gelu (bool): QuickGELU in ViT blocks (OpenAI's weights). Defaults to True.
        vit_levels (Sequence[int], optional): Channels of the stride 8, 16, 32 maps made from
            the ViT patch maps (see above). Defaults to None (the patch maps as they are).
        pretrained (str, optional): Local OpenAI or open_clip checkpoint of the whole CLIP
            model; its ``visual.*`` weights are loaded by :meth:`init_weights`, all of them
            (only CRIS's ``attnpool.connect`` branch, which CLIP lacks, keeps its init) or
            a :class:`~mmris.models.utils.PretrainedMismatchError`.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'RN50',
                 out_indices: Optional[Sequence[int]] = None,
                 out_global: bool = False,
                 quick_gelu: bool = True,
                 vit_levels: Optional[Sequence[int]] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        cfg = dict(ARCHS[arch]) if isinstance(arch, str) else dict(arch)
        image_size = cfg.pop('image_size', 224)
        self.is_vit = 'patch_size' in cfg
        self.out_global = out_global
        self.pretrained = pretrained
        if self.is_vit:
            self.visual = VisionTransformer(
                image_size=image_size, patch_size=cfg['patch_size'], width=cfg['width'],
                layers=cfg['layers'], heads=cfg['heads'], mlp_ratio=4.0,
                output_dim=cfg['output_dim'], act_layer=QuickGELU if quick_gelu else nn.GELU)
            default = (cfg['layers'] - 1,)
        else:
            self.visual = ModifiedResNet(cfg['layers'], cfg['output_dim'], cfg['heads'],
                                         image_size=image_size, width=cfg['width'])
            self.visual.attnpool = DenseAttentionPool2d(
                image_size // 32, cfg['width'] * 32, cfg['heads'], cfg['output_dim'])
            self.visual.init_parameters()
            default = (1, 2, 3)
        self.out_indices = tuple(default if out_indices is None else out_indices)
        self.levels = None
        if vit_levels is not None:
            assert self.is_vit and len(self.out_indices) in (1, 3), \
                '`vit_levels` needs a ViT and 1 or 3 out_indices'
            w, (c2, c3, c4) = cfg['width'], vit_levels
            bn = dict(type='BN')
            self.levels = nn.ModuleList([
                ConvModule(w, c2, 2, stride=2, conv_cfg=dict(type='deconv'), norm_cfg=bn),
                ConvModule(w, c3, 3, padding=1, norm_cfg=bn),
                ConvModule(w, c4, 3, stride=2, padding=1, norm_cfg=bn)])

    def init_weights(self) -> None:
        """Initialize, then load the CLIP image weights from ``pretrained`` if given."""
        super().init_weights()
        if self.pretrained:
            state = image_tower_state(load_clip_state_dict(self.pretrained))
            load_pretrained(self.visual, state, self.pretrained, 'CLIP image encoder',
                            tolerated_missing=(r'attnpool\.connect\.', ))  # CRIS's own

    def _forward_resnet(self, x: Tensor) -> Tuple[Tensor, ...]:
        v = self.visual
        x = v.layer1(v.stem(x))  # B, 4w, H/4, W/4
        outs, glob = [x], None
        for layer in (v.layer2, v.layer3):
            x = layer(x)
            outs.append(x)  # B, 8w, H/8, W/8 / B, 16w, H/16, W/16
        if 3 in self.out_indices or self.out_global:
            x = v.attnpool(v.layer4(x), with_global=self.out_global)  # B, out, H/32, W/32
            if self.out_global:
                x, glob = x
            outs.append(x)
        outs = [outs[i] for i in self.out_indices]
        return tuple(outs) + ((glob, ) if self.out_global else ())

    def _forward_vit(self, x: Tensor) -> Tuple[Tensor, ...]:
        v = self.visual
        x = v.conv1(x)  # B, C, h, w
        B, C, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)  # B, hw, C
        cls = v.class_embedding.to(x.dtype).expand(B, 1, -1)
        pos = v.positional_embedding.to(x.dtype)
        x = torch.cat([cls + pos[:1], x + resize_grid_pos(pos[1:], (h, w))], dim=1)
        x = v.ln_pre(v.patch_dropout(x))  # B, 1 + hw, C
        outs = []
        for i, block in enumerate(v.transformer.resblocks):
            x = block(x)
            if i in self.out_indices:
                outs.append(x[:, 1:].transpose(1, 2).reshape(B, C, h, w))
        if self.levels is not None:  # B, c2, 2h, 2w / B, c3, h, w / B, c4, h/2, w/2
            outs = [conv(m) for conv, m in zip(self.levels, outs * (3 // len(outs)))]
        if self.out_global:
            outs.append(v.ln_post(x[:, 0]) @ v.proj)  # B, output_dim
        return tuple(outs)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """
        Args:
            x (Tensor): B, 3, H, W images.

        Returns:
            tuple[Tensor]: the maps chosen by ``out_indices`` (and the global vector last).
        """
        return self._forward_vit(x) if self.is_vit else self._forward_resnet(x)
