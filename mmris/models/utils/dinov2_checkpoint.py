"""Meta's DINOv2 checkpoints (``dinov2_vit*14_reg4_pretrain.pth``) -> timm's ViT layout."""
import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def resample_dinov2_pos_embed(pos_embed: Tensor, grid: Tuple[int, int],
                              offset: float = 0.1) -> Tensor:
    """Meta's DINOv2 position embedding (1, 1 + M*M, C) -> (1, 1 + h*w, C) for an h x w
    patch grid, exactly as DINOv2's ``interpolate_pos_encoding`` does at run time (bicubic,
    ``scale_factor = (h + offset) / M``, no antialias), so that a model built for one input
    size matches DINOv2 (and DETRIS) at that size. timm's loader resamples differently
    (``size=``, antialias), hence this step before it."""
    N = pos_embed.shape[1] - 1
    M = int(math.sqrt(N))
    assert M * M == N, f'position embedding of {N} patches is not square'
    h, w = grid
    if (h, w) == (M, M):
        return pos_embed
    dtype = pos_embed.dtype
    pos = pos_embed.float()
    patch = pos[:, 1:].reshape(1, M, M, -1).permute(0, 3, 1, 2)  # 1, C, M, M
    patch = F.interpolate(patch, scale_factor=((h + offset) / M, (w + offset) / M),
                          mode='bicubic', antialias=False)  # 1, C, h, w
    assert patch.shape[-2:] == (h, w), (patch.shape, grid)
    patch = patch.permute(0, 2, 3, 1).reshape(1, h * w, -1)
    return torch.cat([pos[:, :1], patch], dim=1).to(dtype)


def convert_dinov2(state: Dict[str, Tensor], grid: Tuple[int, int]) -> Dict[str, Tensor]:
    """Meta's DINOv2-with-registers state dict -> timm's ``VisionTransformer(reg_tokens=4,
    no_embed_class=True)`` for an h x w patch ``grid``.

    The position embedding is resampled to ``grid`` (:func:`resample_dinov2_pos_embed`), then
    the renames of timm's ``checkpoint_filter_fn`` for DINOv2 (tested equal to it): the class
    position is folded into ``cls_token``, ``register_tokens`` -> ``reg_token``, the patch
    positions stay in ``pos_embed``, ``mask_token`` (pre-training only) is dropped.
    """
    out = {k: v for k, v in state.items() if k != 'mask_token'}
    if 'pos_embed' in out:
        pos = resample_dinov2_pos_embed(out.pop('pos_embed'), grid)  # 1, 1 + hw, C
        out['pos_embed'] = pos[:, 1:]
        if 'cls_token' in out:
            out['cls_token'] = out['cls_token'] + pos[:, :1]
    if 'register_tokens' in out:
        out['reg_token'] = out.pop('register_tokens')
    return out
