"""Resizes that can be undone at test time, and a flip that keeps the sentence true."""
from typing import Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from mmris.registry import TRANSFORMS
from .text import swap_left_right

__all__ = ['LetterboxResize', 'RISResize', 'ResizeLongestSide', 'ReferRandomFlip',
           'CLIP_MEAN_BGR', 'SAM_MEAN_BGR', 'cris_affine', 'resize_image']

#: CLIP's image mean * 255 in BGR order (the images are loaded BGR): the letterbox padding.
CLIP_MEAN_BGR = (104.09, 116.75, 122.77)
#: SAM's pixel mean in BGR order: padding that SAM's normalisation turns into (about) zero.
SAM_MEAN_BGR = (103.53, 116.28, 123.675)

BACKENDS = ('cv2', 'pillow')
_PIL_INTERP = dict(nearest=Image.NEAREST, bilinear=Image.BILINEAR, bicubic=Image.BICUBIC,
                   box=Image.BOX, lanczos=Image.LANCZOS, hamming=Image.HAMMING)


def resize_image(img: np.ndarray, size: Tuple[int, int], interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> np.ndarray:
    """Resize an image or a mask to ``size`` = (width, height).

    Args:
        img (np.ndarray): H, W or H, W, C.
        size (tuple[int, int]): Output (width, height).
        interpolation (str): 'nearest', 'bilinear', 'bicubic', ... (mmcv / Pillow names).
        backend (str): ``'cv2'``: ``mmcv.imresize`` (OpenCV, no antialiasing when
            shrinking); ``'pillow'``: ``PIL.Image.resize``, what torchvision's ``F.resize``
            does to a PIL image (its bilinear and bicubic filters widen when shrinking, i.e.
            antialias; its nearest samples pixel centres). 'pillow' needs uint8 data.

    Returns:
        np.ndarray: The resized array, same dtype.
    """
    if backend == 'cv2':
        return mmcv.imresize(img, size, interpolation=interpolation)
    if backend != 'pillow':
        raise ValueError(f'backend must be one of {BACKENDS}, got "{backend}"')
    if img.dtype != np.uint8:
        raise TypeError(f'the pillow resize takes uint8 images, got {img.dtype}')
    return np.asarray(Image.fromarray(img).resize(size, _PIL_INTERP[interpolation]))


def cris_affine(ori_hw: Tuple[int, int], input_hw: Tuple[int, int],
                inverse: bool = False) -> np.ndarray:
    """CRIS's letterbox as a 2 x 3 affine matrix (``utils/dataset.py``,
    ``getTransformMat``): scale ``s = min(H / h, W / w)``, content ``s * (w, h)`` (not rounded)
    centred, built with ``cv2.getAffineTransform`` from float32 corners as CRIS does.

    Args:
        ori_hw (tuple[int, int]): Original (height, width).
        input_hw (tuple[int, int]): Network input (height, width).
        inverse (bool): The matrix from the input back to the original image.

    Returns:
        np.ndarray: 2 x 3 float64.
    """
    (h, w), (H, W) = ori_hw[:2], input_hw[:2]
    s = min(H / h, W / w)
    nh, nw = h * s, w * s
    bx, by = (W - nw) / 2., (H - nh) / 2.
    src = np.array([[0, 0], [w, 0], [0, h]], np.float32)
    dst = np.array([[bx, by], [nw + bx, by], [bx, nh + by]], np.float32)
    return cv2.getAffineTransform(dst, src) if inverse else cv2.getAffineTransform(src, dst)


class _UndoableResize(BaseTransform):
    """Resize ``img`` (and every ``seg_fields`` map, nearest, padded with ``seg_pad_val``)
    to ``scale`` and record ``img_shape``, ``pad_shape``, ``pad_param`` (top, bottom, left,
    right) and ``scale_factor`` (w, h) so that a model can undo it.

    Args:
        scale (tuple[int, int]): Output (width, height).
        interpolation (str): Image interpolation (mmcv names).
        pad_val (float | Sequence[float]): Image padding value (per channel, BGR).
        seg_pad_val (int): Padding value of the masks.
        backend (str): See :func:`resize_image`; masks are resized nearest with the same
            backend.
    """

    keep_ratio = False
    backends = BACKENDS
    centred = True  # False: content at the top left, padding right and bottom (SAM)

    def __init__(self,
                 scale: Tuple[int, int],
                 interpolation: str = 'bilinear',
                 pad_val: Union[float, Sequence[float]] = 0,
                 seg_pad_val: int = 0,
                 backend: str = 'cv2') -> None:
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'scale must be (width, height), got {scale}')
        if backend not in self.backends:
            raise ValueError(f'backend must be one of {self.backends}, got "{backend}"')
        self.backend = backend
        self.scale = (int(scale[0]), int(scale[1]))
        self.interpolation = interpolation
        self.pad_val = tuple(pad_val) if isinstance(pad_val, Sequence) else pad_val
        self.seg_pad_val = seg_pad_val

    def _content_size(self, w: int, h: int) -> Tuple[int, int]:
        """The (width, height) the image content takes in the output."""
        return self.scale

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        out_w, out_h = self.scale
        new_w, new_h = self._content_size(w, h)
        top, left = ((out_h - new_h) // 2, (out_w - new_w) // 2) if self.centred else (0, 0)
        pad = dict(padding=(left, top, out_w - new_w - left, out_h - new_h - top))
        img = resize_image(img, (new_w, new_h), self.interpolation, self.backend)
        if (new_w, new_h) != (out_w, out_h):
            pad_val = self.pad_val
            if isinstance(pad_val, tuple) and img.ndim == 2:
                pad_val = pad_val[0]
            img = mmcv.impad(img, pad_val=pad_val, **pad)
        results['img'] = img
        for key in results.get('seg_fields', []):
            if results.get(key) is None:
                continue
            seg = resize_image(results[key], (new_w, new_h), 'nearest', self.backend)
            if (new_w, new_h) != (out_w, out_h):
                seg = mmcv.impad(seg, pad_val=self.seg_pad_val, **pad)
            results[key] = seg
        results['img_shape'] = (out_h, out_w)
        results['pad_shape'] = (out_h, out_w)
        left, top, right, bottom = pad['padding']
        results['pad_param'] = np.array([top, bottom, left, right], dtype=np.int64)
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = self.keep_ratio
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, interpolation='
                f'{self.interpolation}, pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val}, '
                f'backend={self.backend})')


@TRANSFORMS.register_module()
class LetterboxResize(_UndoableResize):
    """CRIS's letterbox: resize keeping the aspect ratio so the image fits ``scale``, then pad
    it centred to ``scale`` with the mean colour.

    The image content in the output is ``img[top:H - bottom, left:W - right]`` with
    ``results['pad_param'] = [top, bottom, left, right]``; a model undoes the letterbox by
    cropping that and resizing it to ``ori_shape``.

    Required keys: ``img``; optional ``seg_fields`` (e.g. ``gt_seg_map``).
    Modified keys: ``img``, the ``seg_fields``, ``img_shape``.
    Added keys: ``pad_shape``, ``pad_param``, ``scale_factor``, ``keep_ratio``.

    Args:
        scale (tuple[int, int]): Output (width, height), e.g. (416, 416).
        pad_val (float | Sequence[float]): Image padding, per channel in the image's channel
            order (BGR). Defaults to CLIP's mean in BGR, :data:`CLIP_MEAN_BGR`.
        seg_pad_val (int): Mask padding. Defaults to 0 (background).
        interpolation (str): Image interpolation. Defaults to ``'bicubic'`` (as CRIS).
        backend (str): ``'cv2'`` (content size rounded to whole pixels, ``mmcv.imresize``,
            then padded), ``'pillow'`` (the same with ``PIL.Image.resize``) or ``'cris'``:
            CRIS's own ``cv2.warpAffine`` of the whole image with the matrix of
            :func:`cris_affine` (content size and offset not rounded, ``cv2.INTER_CUBIC``
            whatever ``interpolation``, border = ``pad_val``); masks are warped with
            ``cv2.INTER_NEAREST`` (CRIS warps its training mask bilinearly and trains on the
            soft values; mmris's targets stay binary). ``pad_param`` then holds the rounded
            padding. Defaults to ``'cv2'``.
    """

    keep_ratio = True
    backends = BACKENDS + ('cris', )

    def __init__(self,
                 scale: Tuple[int, int],
                 pad_val: Union[float, Sequence[float]] = CLIP_MEAN_BGR,
                 seg_pad_val: int = 0,
                 interpolation: str = 'bicubic',
                 backend: str = 'cv2') -> None:
        super().__init__(scale, interpolation, pad_val, seg_pad_val, backend)

    def transform(self, results: dict) -> dict:
        if self.backend != 'cris':
            return super().transform(results)
        h, w = results['img'].shape[:2]
        out_w, out_h = self.scale
        mat = cris_affine((h, w), (out_h, out_w))
        pad = self.pad_val if isinstance(self.pad_val, tuple) else (self.pad_val, ) * 3
        results['img'] = cv2.warpAffine(results['img'], mat, (out_w, out_h),
                                        flags=cv2.INTER_CUBIC, borderValue=pad)
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = cv2.warpAffine(results[key], mat, (out_w, out_h),
                                              flags=cv2.INTER_NEAREST,
                                              borderValue=self.seg_pad_val)
        s, bx, by = mat[0, 0], mat[0, 2], mat[1, 2]
        top, left = int(round(by)), int(round(bx))
        bottom = out_h - top - min(out_h, max(1, int(round(h * s))))
        right = out_w - left - min(out_w, max(1, int(round(w * s))))
        results['img_shape'] = (out_h, out_w)
        results['pad_shape'] = (out_h, out_w)
        results['pad_param'] = np.array([top, max(bottom, 0), left, max(right, 0)],
                                        dtype=np.int64)
        results['scale_factor'] = (s, s)
        results['keep_ratio'] = True
        return results

    def _content_size(self, w: int, h: int) -> Tuple[int, int]:
        out_w, out_h = self.scale
        ratio = min(out_w / w, out_h / h)
        return (min(out_w, max(1, int(round(w * ratio)))),
                min(out_h, max(1, int(round(h * ratio)))))


@TRANSFORMS.register_module()
class RISResize(_UndoableResize):
    """LAVT's plain resize to a fixed ``scale`` (aspect ratio not kept, no padding:
    ``pad_param`` is all zeros).

    Required keys: ``img``; optional ``seg_fields``.
    Modified keys: ``img``, the ``seg_fields``, ``img_shape``.
    Added keys: ``pad_shape``, ``pad_param``, ``scale_factor``, ``keep_ratio``.

    Args:
        scale (tuple[int, int]): Output (width, height), e.g. (480, 480).
        interpolation (str): Image interpolation. Defaults to ``'bilinear'``; masks always
            use nearest.
        backend (str): ``'cv2'`` (``mmcv.imresize``) or ``'pillow'``: ``PIL.Image.resize``
            for the image and the masks, which is what LAVT's and MagNet's
            ``transforms.Resize`` (torchvision ``F.resize`` on PIL images) do; Pillow's
            bilinear is antialiased when shrinking, OpenCV's is not. Defaults to ``'cv2'``.
    """

    def __init__(self, scale: Tuple[int, int], interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        super().__init__(scale, interpolation, backend=backend)


@TRANSFORMS.register_module()
class ResizeLongestSide(_UndoableResize):
    """SAM's resize: the longest side to ``long_side`` (aspect ratio kept, the other side
    ``int(side * long_side / max(h, w) + 0.5)``), then padded on the right and bottom to a
    ``long_side`` square (``pad_param = [0, bottom, 0, right]``, undone by the segmentor).

    SAM pads after normalising, with zeros; the padding here is SAM's mean colour
    (:data:`SAM_MEAN_BGR`, rounded to uint8: at most 0.009 from zero once normalised).

    Required keys: ``img``; optional ``seg_fields``.
    Modified keys: ``img``, the ``seg_fields``, ``img_shape``.
    Added keys: ``pad_shape``, ``pad_param``, ``scale_factor``, ``keep_ratio``.

    Args:
        long_side (int): Output size. Defaults to 1024 (SAM).
        interpolation (str): Image interpolation. Defaults to ``'bilinear'``.
        backend (str): See :func:`resize_image`. Defaults to ``'pillow'`` (SAM's
            ``ResizeLongestSide``: torchvision's resize of a PIL image, PIL bilinear).
        pad_val (float | Sequence[float]): Image padding (BGR). Defaults to
            :data:`SAM_MEAN_BGR`.
        seg_pad_val (int): Mask padding. Defaults to 255 (ignored).
    """

    keep_ratio = True
    centred = False

    def __init__(self,
                 long_side: int = 1024,
                 interpolation: str = 'bilinear',
                 backend: str = 'pillow',
                 pad_val: Union[float, Sequence[float]] = SAM_MEAN_BGR,
                 seg_pad_val: int = 255) -> None:
        super().__init__((long_side, long_side), interpolation, pad_val, seg_pad_val, backend)

    def _content_size(self, w: int, h: int) -> Tuple[int, int]:
        scale = self.scale[0] / max(h, w)
        return int(w * scale + 0.5), int(h * scale + 0.5)


@TRANSFORMS.register_module()
class ReferRandomFlip(BaseTransform):
    """Horizontal flip with probability ``prob`` that keeps the sentence true: "left" and
    "right" (and "leftmost", "left-hand", ...) are swapped in ``results['text']``.

    Also flips every ``seg_fields`` map and swaps the left/right entries of ``pad_param`` when
    a resize has recorded one.

    Required keys: ``img``, ``text``.
    Modified keys: ``img``, ``text``, the ``seg_fields``, ``pad_param``.
    Added keys: ``flip``, ``flip_direction``.

    Args:
        prob (float): Flip probability. Defaults to 0.5.
        swap_words (bool): Swap the left/right words. Turn off only for ablations.
            Defaults to True.
    """

    def __init__(self, prob: float = 0.5, swap_words: bool = True) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.swap_words = swap_words

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results
        results['img'] = mmcv.imflip(results['img'], direction='horizontal')
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = mmcv.imflip(results[key], direction='horizontal').copy()
        if results.get('pad_param') is not None:
            top, bottom, left, right = results['pad_param']
            results['pad_param'] = np.array([top, bottom, right, left],
                                            dtype=np.asarray(results['pad_param']).dtype)
        if self.swap_words:
            results['text'] = swap_left_right(results['text'])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, swap_words={self.swap_words})'
