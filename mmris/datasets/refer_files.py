"""Reading and checking the REFER files as plain data: split files (``refs(unc).p``; gRefCOCO's
``grefs(unc).json``), COCO ``instances.json``, the REFER API's split selection and the checks
of a segmentation. :class:`~mmris.datasets.ReferDataset` builds its index from these."""
import contextlib
import gc
import json
import os.path as osp
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import numpy as np

from mmris.utils.safe_pickle import UnsafePickleError, load_data_pickle
from .errors import ReferFormatError

__all__ = ['load_refs', 'load_instances', 'select_refs', 'check_segmentation', 'join_root',
           'no_gc', 'REQUIRED_REF_KEYS']

REQUIRED_REF_KEYS = ('ref_id', 'ann_id', 'image_id', 'split', 'sentences')


def join_root(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading 100k+ small objects is about twice as fast
    without its passes (none of them is garbage)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_pickle(path: str) -> Any:
    """Unpickle a REFER split file as plain data (no code of the file runs).

    Raises:
        ReferFormatError: If the file names a global that is not plain data.
    """
    with open(path, 'rb') as f:
        data = f.read()
    with no_gc():
        try:
            return load_data_pickle(data)
        except UnsafePickleError as e:
            raise ReferFormatError(
                f'{path} is refused: it names the global {e.global_name}, which a REFER split '
                f'file (dicts, lists, strings and numbers) never needs and whose unpickling '
                f'could run code. Nothing from the file was run.') from e


def load_refs(split_file: str) -> List[dict]:
    """Load and check a REFER split file (``refs(unc).p``; ``.json`` for gRefCOCO).

    Args:
        split_file (str): Path of the pickle (or JSON) file holding the list of refs.

    Returns:
        list[dict]: The refs.

    Raises:
        FileNotFoundError: If the file does not exist.
        ReferFormatError: If it is not a list of refs with the REFER keys, or if the pickle
            names a global that is not plain data (it could run code; nothing is run).
    """
    if not osp.isfile(split_file):
        raise FileNotFoundError(f'REFER split file not found: {split_file}')
    try:
        if split_file.endswith('.json'):
            with open(split_file) as f, no_gc():
                refs = json.load(f)
        else:
            refs = _load_pickle(split_file)
    except ReferFormatError:
        raise
    except Exception as e:  # noqa: BLE001 - every unpickling failure means "not REFER"
        raise ReferFormatError(
            f'{split_file} is not a REFER split file (a pickled list of refs): '
            f'{type(e).__name__}: {e}') from e
    if not isinstance(refs, list) or not refs:
        raise ReferFormatError(
            f'{split_file} is not a REFER split file: expected a non-empty list of refs, got '
            f'{type(refs).__name__}' + (' (empty)' if isinstance(refs, list) else ''))
    for i, ref in enumerate(refs):
        missing = [k for k in REQUIRED_REF_KEYS if not isinstance(ref, dict) or k not in ref]
        if missing:
            raise ReferFormatError(
                f'{split_file} is not a REFER split file: ref #{i} '
                f'({type(ref).__name__}) lacks the keys {missing}')
    return refs


def load_instances(ann_file: str) -> Tuple[Dict[int, dict], Dict[int, dict]]:
    """Load a COCO-format ``instances.json``.

    Args:
        ann_file (str): Path of the file.

    Returns:
        tuple[dict, dict]: images by id and annotations by id.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    with open(ann_file) as f, no_gc():
        coco = json.load(f)
    if not isinstance(coco, dict) or 'images' not in coco or 'annotations' not in coco:
        raise ReferFormatError(f'{ann_file} is not a COCO instances file (needs "images" and '
                               '"annotations")')
    images = {img['id']: img for img in coco['images']}
    anns = {ann['id']: ann for ann in coco['annotations']}
    return images, anns


def select_refs(refs: Sequence[dict], split: str, source: str = 'the split file') -> List[dict]:
    """Select the refs of a split with the rules of the reference REFER API
    (``refer.py::getRefIds``).

    ``testA`` / ``testB`` / ``testC`` take every ref whose split contains the letter (so
    ``testAB`` counts for both), ``testAB`` / ``testBC`` / ``testAC`` match exactly, ``test``
    takes every split containing "test", ``train`` and ``val`` match exactly.

    Args:
        refs (Sequence[dict]): All refs.
        split (str): The split name.
        source (str): Named in the error message.

    Returns:
        list[dict]: The selected refs, in file order.

    Raises:
        ReferFormatError: If the split is unknown or selects nothing.
    """
    if split in ('testA', 'testB', 'testC'):
        selected = [r for r in refs if split[-1] in r['split']]
    elif split in ('testAB', 'testBC', 'testAC'):
        selected = [r for r in refs if r['split'] == split]
    elif split == 'test':
        selected = [r for r in refs if 'test' in r['split']]
    elif split in ('train', 'val'):
        selected = [r for r in refs if r['split'] == split]
    else:
        selected = None
    if not selected:
        present = sorted({str(r['split']) for r in refs})
        what = 'unknown split' if selected is None else 'no ref in split'
        raise ReferFormatError(f'{what} "{split}" in {source}; its refs have the splits '
                               f'{present} (choose from train, val, test, testA, testB, testC, '
                               'testAB, testBC, testAC as the REFER API does)')
    return selected


def check_segmentation(seg: Any, height: int, width: int, where: str,
                        drop_parts: bool = False) -> Tuple[Any, List[str]]:
    """Check a polygon or RLE segmentation.

    Args:
        seg (Any): The COCO segmentation.
        height (int): Image height.
        width (int): Image width.
        where (str): Named in the messages.
        drop_parts (bool): Drop the degenerate parts of a polygon that has valid ones
            (returning a message for each) instead of raising.

    Returns:
        tuple: the segmentation (without dropped parts) and the messages of dropped parts.

    Raises:
        ReferFormatError: On a segmentation that cannot be decoded.
    """
    if isinstance(seg, dict):
        if 'counts' not in seg or 'size' not in seg:
            raise ReferFormatError(f'{where}: RLE segmentation lacks "counts" or "size"')
        if [int(s) for s in seg['size']] != [height, width]:
            raise ReferFormatError(f'{where}: RLE size {seg["size"]} differs from the image '
                                   f'size {[height, width]}')
        return seg, []
    if not isinstance(seg, (list, tuple)) or not seg:
        raise ReferFormatError(f'{where}: empty or unknown segmentation ({type(seg).__name__})')
    kept, dropped = [], []
    for k, part in enumerate(seg):
        ok = isinstance(part, (list, tuple)) and len(part) >= 6 and len(part) % 2 == 0
        if ok:
            try:
                ok = bool(np.isfinite(np.asarray(part, dtype=np.float64)).all())
            except (TypeError, ValueError):
                ok = False
        if ok:
            kept.append(part)
            continue
        n = len(part) if isinstance(part, (list, tuple)) else type(part).__name__
        dropped.append(f'{where}: degenerate polygon part #{k} ({n} coordinates; a polygon '
                       'needs an even number of finite coordinates, at least 3 points)')
    if dropped and (not drop_parts or not kept):
        raise ReferFormatError(dropped[0] + ('' if kept else '; no valid part left') +
                               ('' if drop_parts else
                                '. invalid_polygon="drop_part" drops such parts (logged)'))
    return kept, dropped
