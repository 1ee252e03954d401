"""Packing a referring sample into a ``SegDataSample``."""
from typing import Sequence

import numpy as np
import torch
from mmseg.datasets.transforms import PackSegInputs

from mmris.registry import TRANSFORMS
from ..errors import ReferSampleError, describe_sample

__all__ = ['PackReferInputs', 'REFER_META_KEYS']

REFER_META_KEYS = ('img_path', 'ori_shape', 'img_shape', 'pad_shape', 'pad_param',
                   'scale_factor', 'flip', 'flip_direction', 'text', 'ref_id', 'sent_id',
                   'ann_id', 'image_id', 'category_id', 'no_target')


@TRANSFORMS.register_module()
class PackReferInputs(PackSegInputs):
    """mmseg's ``PackSegInputs`` for referring samples.

    ``inputs``: uint8 C x H x W tensor; ``data_samples``: a ``SegDataSample`` with
    ``gt_sem_seg`` ((1, H, W), values {0, 1}) when the annotation was loaded, and the
    ``meta_keys`` in its metainfo (``no_target`` only for gRefCOCO samples). ``flip``,
    ``flip_direction``, ``pad_param`` and ``scale_factor`` get neutral values when no
    transform set them, so every sample has the same keys.

    The sentence must be a non-empty string, unless ``BlankSentence`` emptied it.

    A second view of the image (``results['img_view']``, H x W x C, from :class:`ImageView`)
    becomes the sample's ``img_view`` field (C x H x W tensor).

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo.
            Defaults to :data:`REFER_META_KEYS`.
    """

    def __init__(self, meta_keys: Sequence[str] = REFER_META_KEYS) -> None:
        super().__init__(meta_keys=tuple(meta_keys))

    def transform(self, results: dict) -> dict:
        text = results.get('text')
        if not isinstance(text, str) or not (text.strip() or results.get('text_blanked')):
            raise ReferSampleError(f'missing or empty sentence {text!r} '
                                   f'({describe_sample(results)})')
        results.setdefault('flip', False)
        results.setdefault('flip_direction', None)
        results.setdefault('pad_param', np.zeros(4, dtype=np.int64))
        results.setdefault('scale_factor', (1.0, 1.0))
        packed = super().transform(results)
        if results.get('img_view') is not None:
            view = np.ascontiguousarray(results['img_view'].transpose(2, 0, 1))
            packed['data_samples'].set_data(dict(img_view=torch.from_numpy(view)))
        return packed
