"""Decoding the target mask of a referring sample."""
from typing import Any, Optional

import numpy as np
import pycocotools.mask as mask_utils
from mmcv.transforms import BaseTransform

from mmris.registry import TRANSFORMS
from ..errors import ReferSampleError, describe_sample

__all__ = ['LoadReferAnnotation', 'decode_segmentation']


def decode_segmentation(seg: Any, height: int, width: int) -> np.ndarray:
    """Decode one COCO segmentation to a binary mask with pycocotools.

    Polygons with several parts give the union of the parts; RLE may be compressed
    (``counts`` a string) or uncompressed (``counts`` a list, as crowd annotations are).

    Args:
        seg (list | dict): Polygons ``[[x1, y1, x2, y2, ...], ...]`` or an RLE dict.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: uint8 mask of shape (height, width), values {0, 1}.
    """
    if isinstance(seg, dict):
        rle = seg
        if isinstance(seg['counts'], list):  # uncompressed RLE (crowd)
            rle = mask_utils.frPyObjects(seg, height, width)
    else:
        parts = [np.asarray(p, dtype=np.float64).ravel().tolist() for p in seg]
        if not parts or any(len(p) < 6 or len(p) % 2 for p in parts):
            # pycocotools would read a 4-number "polygon" as a box: refuse it.
            raise ValueError(f'degenerate polygon (part lengths {[len(p) for p in parts]})')
        rle = mask_utils.merge(mask_utils.frPyObjects(parts, height, width))
    mask = mask_utils.decode(rle)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    return mask.astype(np.uint8)


@TRANSFORMS.register_module()
class LoadReferAnnotation(BaseTransform):
    """Decode the target of a referring sample into ``results['gt_seg_map']`` ({0, 1},
    original image size), as mmseg's ``LoadAnnotations`` writes it, and add it to
    ``results['seg_fields']``.

    The target is the union of ``results['segmentations']`` (one COCO segmentation per target
    object; none for a gRefCOCO no-target sentence). Put it before a resize to train or to
    score at the model's input size, after the resize to score at the original size.

    Required keys: ``segmentations``, ``height``, ``width``; ``no_target`` (gRefCOCO).
    Checked if present: ``ori_shape`` (must equal ``(height, width)``).
    Added keys: ``gt_seg_map``, ``seg_fields``.

    Args:
        allow_empty (bool): Accept a target that decodes to an empty mask although the
            sentence is not a no-target one. Defaults to False (raise :class:`ReferSampleError`).
    """

    def __init__(self, allow_empty: bool = False) -> None:
        self.allow_empty = allow_empty

    def transform(self, results: dict) -> Optional[dict]:
        height, width = int(results['height']), int(results['width'])
        ori_shape = results.get('ori_shape')
        if ori_shape is not None and tuple(ori_shape[:2]) != (height, width):
            raise ReferSampleError(
                f'image size {tuple(ori_shape[:2])} differs from the size in the annotation '
                f'file {(height, width)} ({describe_sample(results)})')
        segmentations = results['segmentations']
        no_target = bool(results.get('no_target', False))
        if not segmentations and not no_target:
            raise ReferSampleError(f'sample without target object and without no_target '
                                   f'flag ({describe_sample(results)})')
        mask = np.zeros((height, width), dtype=np.uint8)
        for seg in segmentations:
            try:
                mask |= decode_segmentation(seg, height, width)
            except Exception as e:  # noqa: BLE001 - re-raised with the sample named
                raise ReferSampleError(f'cannot decode the segmentation of '
                                       f'{describe_sample(results)}: {e}') from e
        if segmentations and not self.allow_empty and not mask.any():
            raise ReferSampleError(
                f'the target decodes to an empty mask (degenerate polygon?): '
                f'{describe_sample(results)}; set allow_empty=True to keep such samples')
        results['gt_seg_map'] = mask
        seg_fields = results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in seg_fields:
            seg_fields.append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(allow_empty={self.allow_empty})'
