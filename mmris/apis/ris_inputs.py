"""The inputs of :class:`~mmris.apis.RISInferencer`: images (paths or arrays) and sentences,
checked and loaded with errors that name them."""
import os.path as osp
import reprlib
from typing import Any, List, Sequence, Union

import mmcv
import numpy as np

__all__ = [
    'load_ris_image', 'check_texts', 'pair_inputs', 'LoadRISInput', 'ImageType', 'TextsType'
]

ImageType = Union[str, np.ndarray]
TextsType = Union[str, Sequence[str], Sequence[Union[str, Sequence[str]]], None]


def load_ris_image(img: ImageType, name: str = 'image') -> np.ndarray:
    """Read an image path, or check an array, and return it as uint8 BGR, H x W x 3.

    A grayscale image (H x W or H x W x 1) is repeated to 3 channels; the alpha channel of a
    4-channel image (BGRA) is dropped. Arrays are taken as BGR, OpenCV's (and mmcv's) order.

    Args:
        img (str | np.ndarray): Path or array.
        name (str): How to call the image in error messages. Defaults to 'image'.

    Returns:
        np.ndarray: uint8, H x W x 3, BGR.

    Raises:
        FileNotFoundError: The path does not exist.
        ValueError: The file is not a decodable image, or the array has a shape or dtype
            that is not an image's.
        TypeError: ``img`` is neither a path nor an array.
    """
    if isinstance(img, str):
        if not osp.isfile(img):
            raise FileNotFoundError(f'{name}: no such image file: {img!r}')
        with open(img, 'rb') as f:
            data = f.read()
        arr = mmcv.imfrombytes(data, flag='color', backend='cv2') if data else None
        if arr is None:
            raise ValueError(f'{name}: cannot read {img!r} as an image (not an image file, '
                             'an unsupported format, or a truncated file)')
        return arr  # cv2's colour flag: gray -> 3 channels, alpha dropped, 16 bit -> 8 bit
    if not isinstance(img, np.ndarray):
        raise TypeError(f'{name}: expected an image path (str) or a numpy array, '
                        f'got {type(img).__name__}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise ValueError(f'{name}: an image array must be H x W, H x W x 1, H x W x 3 or '
                         f'H x W x 4 (BGR order), got shape {tuple(img.shape)}')
    if img.dtype != np.uint8:
        img = _to_uint8(img, name)
    return np.ascontiguousarray(img)


def _to_uint8(img: np.ndarray, name: str) -> np.ndarray:
    """An integer or float image array holding 0..255 values -> uint8 (floats rounded).

    A float array whose values all lie in [0, 1] (and are not all 0) is refused: it is
    most likely a 0..1 image, which read as 0..255 would be almost black.
    """
    if img.dtype == bool or not (np.issubdtype(img.dtype, np.integer)
                                 or np.issubdtype(img.dtype, np.floating)):
        raise TypeError(f'{name}: an image array must be uint8 (or an integer / float array '
                        f'holding 0..255 values), got dtype {img.dtype}')
    if np.issubdtype(img.dtype, np.floating) and not np.isfinite(img).all():
        raise ValueError(f'{name}: the float image array holds NaN or infinite values')
    low, high = img.min(), img.max()
    if low < 0 or high > 255:
        raise ValueError(f'{name}: an image array must hold values in 0..255 (BGR, as '
                         f'cv2.imread gives), got dtype {img.dtype} with values in '
                         f'[{low}, {high}]')
    if np.issubdtype(img.dtype, np.floating):
        if 0 < high <= 1:
            raise ValueError(
                f'{name}: the float image array holds values in [{low}, {high}]: float '
                'arrays are read as 0..255, so this one looks like a 0..1 image; pass '
                '(img * 255).round().astype(np.uint8), or a uint8 array')
        img = np.rint(img)
    return img.astype(np.uint8)


def check_texts(texts: Any) -> None:
    """``texts`` must be None, a str, or a list / tuple of str or of lists of str."""
    if texts is None or isinstance(texts, str):
        return
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f'texts: expected a str or a list of str, got '
                        f'{type(texts).__name__} {reprlib.repr(texts)}')
    for i, item in enumerate(texts):
        inner = enumerate(item) if isinstance(item, (list, tuple)) else [(None, item)]
        for j, text in inner:
            if not isinstance(text, str):
                where = f'texts[{i}]' + ('' if j is None else f'[{j}]')
                raise TypeError(f'{where}: expected a str, got {type(text).__name__} '
                                f'{reprlib.repr(text)}')


class LoadRISInput:
    """First step of the inference pipeline: ``dict(img=path or array, text, ...)`` ->
    the results dict that ``LoadImageFromFile`` would give."""

    def __call__(self, item: dict) -> dict:
        img = load_ris_image(item['img'], item['name'])
        results = {k: v for k, v in item.items() if k not in ('img', 'name')}
        if isinstance(item['img'], str):
            results['img_path'] = item['img']
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results


def pair_inputs(inputs: Union[ImageType, Sequence], texts: TextsType) -> List[dict]:
    """(image, sentence) pairs from the accepted forms of :class:`RISInferencer`'s ``inputs``
    and ``texts``: dicts with ``img``, ``text``, ``name`` (for messages), ``stem`` (for
    output files, unique), ``input_index`` and ``sent_id``."""
    check_texts(texts)
    if isinstance(inputs, (str, np.ndarray)):
        if texts is None:
            raise ValueError('give a sentence: inferencer(image, "the man on the left")')
        texts = [texts] if isinstance(texts, str) else list(texts)
        images, per_image = [inputs], [texts]
    else:
        inputs = list(inputs)
        if inputs and all(isinstance(x, dict) for x in inputs) and texts is None:
            images = [x.get('img') for x in inputs]
            per_image = [x.get('text') for x in inputs]
        else:
            if texts is None:
                raise ValueError('give one sentence per image (texts=[...])')
            if isinstance(texts, str):
                texts = [texts] * len(inputs)
            texts = list(texts)
            if len(texts) != len(inputs):
                raise ValueError(f'{len(inputs)} images but {len(texts)} sentences: give '
                                 'one sentence (or a list of sentences) per image')
            images, per_image = inputs, texts
        per_image = [list(t) if isinstance(t, (list, tuple)) else [t]
                     for t in per_image]
    if not images:
        raise ValueError('no images given')
    pairs, stems = [], {}
    for i, (img, sentences) in enumerate(zip(images, per_image)):
        if isinstance(img, str):
            if not osp.isfile(img):
                raise FileNotFoundError(f'image {i}: no such image file: {img!r}')
            stem = osp.splitext(osp.basename(img))[0]
        elif isinstance(img, np.ndarray):
            stem = f'array{i:05d}'
        else:
            raise TypeError(f'image {i}: expected an image path (str) or a numpy array, '
                            f'got {type(img).__name__}')
        # the same file name from two folders must not share output files
        if stems.setdefault(stem, i) != i:
            stem = f'{stem}_{i}'
        if not sentences:
            raise ValueError(f'image {i} ({stem}): no sentence given')
        for j, text in enumerate(sentences):
            where = f'sentence {j} of image {i} ({stem})'
            if not isinstance(text, str):
                raise TypeError(f'{where}: expected a str, got {type(text).__name__} '
                                f'{reprlib.repr(text)}')
            if not text.strip():
                raise ValueError(f'{where} is empty: give the expression to segment')
            pairs.append(dict(img=img, text=text, name=f'image {i} ({stem})', stem=stem,
                              input_index=i, sent_id=j))
    return pairs
