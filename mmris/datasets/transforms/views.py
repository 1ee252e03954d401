"""A second view of the image for a second image encoder (EVF-SAM's 224 x 224 BEiT-3 input
next to SAM's 1024 input)."""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from mmris.registry import TRANSFORMS

__all__ = ['ImageView']


@TRANSFORMS.register_module()
class ImageView(BaseTransform):
    """Store a resized copy of ``img`` as ``results['img_view']`` (H x W x 3 float32, the
    channel order of ``img``, values on the 0-255 scale, not clipped);
    :class:`PackReferInputs` packs it into the data sample as ``img_view`` (3 x H x W) and a
    text encoder with ``takes_image_view = True`` receives the batch of them.

    Put it after the transforms that change the image content (flips) and before the resize
    of the main view: it resizes the whole image, not a letterboxed one. The normalisation
    is the consumer's (e.g. :class:`BEiT3FusionEncoder`'s ``mean`` / ``std``).

    The resize runs in float with PyTorch, as EVF-SAM's ``beit3_preprocess`` (torchvision's
    ``Resize`` of a float tensor: bicubic, no antialias, no rounding to uint8).

    Required keys: ``img``. Added keys: ``img_view``.

    Args:
        scale (tuple[int, int]): Output (width, height). Defaults to (224, 224).
        interpolation (str): 'bicubic' | 'bilinear' | 'nearest'. Defaults to 'bicubic'.
        antialias (bool): Antialias when downsampling. Defaults to False (EVF-SAM).
    """

    def __init__(self, scale: Tuple[int, int] = (224, 224), interpolation: str = 'bicubic',
                 antialias: bool = False) -> None:
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'scale must be (width, height), got {scale}')
        if interpolation not in ('bicubic', 'bilinear', 'nearest'):
            raise ValueError(f'unknown interpolation {interpolation!r}')
        self.scale = (int(scale[0]), int(scale[1]))
        self.interpolation = interpolation
        self.antialias = antialias

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2:
            img = img[..., None].repeat(3, -1)
        x = torch.from_numpy(np.ascontiguousarray(img)).float().permute(2, 0, 1)[None]
        w, h = self.scale
        kw = {} if self.interpolation == 'nearest' else dict(
            align_corners=False, antialias=self.antialias)
        x = F.interpolate(x, (h, w), mode=self.interpolation, **kw)  # 1, 3, h, w
        results['img_view'] = x[0].permute(1, 2, 0).numpy()  # h, w, 3 float32
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, interpolation='
                f'{self.interpolation}, antialias={self.antialias})')
