"""Errors raised on bad referring data, and the sample description they carry."""
from typing import Mapping

__all__ = ['ReferFormatError', 'ReferSampleError', 'describe_sample']


class ReferFormatError(ValueError):
    """A structural problem of the annotation files, found when a dataset is built: a split
    file that is not a REFER pickle, an unknown split, an ``ann_id`` or ``image_id`` missing
    from ``instances.json``, a degenerate polygon, ..."""


class ReferSampleError(RuntimeError):
    """A problem of one sample, found when the pipeline loads it: missing or unreadable image,
    empty sentence, mask that decodes to nothing, ..."""


def describe_sample(results: Mapping) -> str:
    """A short description of a sample for error messages.

    Args:
        results (Mapping): The sample's info or pipeline results.

    Returns:
        str: e.g. ``"ref_id=12, sent_id=40, image=data/x.jpg"``.
    """
    parts = [f'{key}={results[key]}' for key in ('ref_id', 'sent_id', 'ann_id')
             if key in results]
    if 'img_path' in results:
        parts.append(f"image={results['img_path']}")
    return ', '.join(parts) if parts else 'unknown sample'
