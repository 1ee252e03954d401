"""Referring datasets read directly from the REFER layout (RefCOCO, RefCOCO+, RefCOCOg,
RefCLEF) and from gRefCOCO's ``grefs(unc).json``.

The index is kept per *ref* (one entry with its sentences and the segmentation of its target),
and a small integer table maps every sample to ``(ref, sentence)``. This keeps the serialized
data one copy of each polygon however many sentences share it, and lets ``text_mode`` choose
between one sample per sentence and one sample per ref.
"""
import contextlib
import gc
import json
import logging
import os.path as osp
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.dataset.base_dataset import force_full_init
from mmengine.logging import print_log

from mmris.registry import DATASETS
from mmris.utils.safe_pickle import UnsafePickleError, load_data_pickle
from .errors import ReferFormatError, ReferSampleError, describe_sample

__all__ = ['ReferDataset', 'GReferDataset', 'load_refs', 'load_instances', 'select_refs',
           'TEXT_MODES', 'REFER_METAINFO']

TEXT_MODES = ('all', 'random', 'first')
REQUIRED_REF_KEYS = ('ref_id', 'ann_id', 'image_id', 'split', 'sentences')
REFER_METAINFO = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 64, 64]])


def _join(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
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
    with _no_gc():
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
            with open(split_file) as f, _no_gc():
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
    with open(ann_file) as f, _no_gc():
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


def _check_segmentation(seg: Any, height: int, width: int, where: str,
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


@DATASETS.register_module()
class ReferDataset(BaseDataset):
    """RefCOCO / RefCOCO+ / RefCOCOg / RefCLEF read from the REFER files, without conversion.

    Each sample's info holds ``img_path``, ``text``, ``ref_id``, ``sent_id``, ``ann_id``,
    ``image_id``, ``category_id``, ``height``, ``width`` and ``segmentations`` (the COCO
    segmentations of the target objects, decoded by ``LoadReferAnnotation``).

    Args:
        split_file (str): The REFER split pickle, e.g. ``'refcoco/refs(unc).p'``, relative to
            ``data_root`` unless absolute.
        split (str): ``'train'``, ``'val'``, ``'test'``, ``'testA'``, ``'testB'``, ... selected
            as the REFER API does (see :func:`select_refs`).
        text_mode (str, optional): ``'all'``: one sample per sentence; ``'random'``: one sample
            per ref with a sentence drawn at random each time it is loaded; ``'first'``: one
            sample per ref with its first sentence. Defaults to ``'random'`` for ``train`` and
            ``'all'`` for every other split.
        text_key (str): Sentence field to read, ``'sent'`` (REFER's cleaned text) or ``'raw'``.
            Falls back to the other one when missing. Defaults to ``'sent'``.
        ann_file (str): The COCO ``instances.json``, e.g. ``'refcoco/instances.json'``.
        data_root (str): Root of ``ann_file``, ``split_file`` and ``data_prefix``.
        data_prefix (dict): ``dict(img_path=...)``: the image folder.
        pipeline (list): Transforms.
        metainfo (dict, optional): Overrides of :attr:`METAINFO`.
        indices (int | Sequence[int], optional): Keep only these *refs* (all their sentences).
        invalid_polygon (str): A polygon part with fewer than 3 points, an odd number or
            non-finite coordinates: ``'error'`` raises :class:`ReferFormatError` (default);
            ``'drop_part'`` drops that part with a logged warning when the annotation has
            valid parts (and still raises when it has none).
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`
            (``serialize_data``, ``test_mode``, ``lazy_init``, ``max_refetch``).
    """

    METAINFO = REFER_METAINFO

    def __init__(self,
                 split_file: str,
                 split: str,
                 text_mode: Optional[str] = None,
                 text_key: str = 'sent',
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img_path=''),
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 metainfo: Optional[Mapping] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 invalid_polygon: str = 'error',
                 **kwargs) -> None:
        text_mode = text_mode or ('random' if split == 'train' else 'all')
        if text_mode not in TEXT_MODES:
            raise ValueError(f'text_mode must be one of {TEXT_MODES}, got "{text_mode}"')
        if text_key not in ('sent', 'raw'):
            raise ValueError(f'text_key must be "sent" or "raw", got "{text_key}"')
        if invalid_polygon not in ('error', 'drop_part'):
            raise ValueError(f'invalid_polygon must be "error" or "drop_part", got '
                             f'"{invalid_polygon}"')
        self.invalid_polygon = invalid_polygon
        self.split = split
        self.text_mode = text_mode
        self.text_key = text_key
        self.split_file = _join(data_root, split_file)
        self._sample_index = np.zeros((0, 2), dtype=np.int64)
        self._ref_counts = np.zeros(0, dtype=np.int64)
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix, pipeline=list(pipeline), indices=indices,
                         **kwargs)

    # ---------------------------------------------------------------- loading the index
    def _targets(self, ref: dict) -> Tuple[List[int], Dict[str, Any]]:
        """The annotation ids a ref points to and extra per-ref info (none for REFER)."""
        ann_id = ref['ann_id']
        if isinstance(ann_id, (list, tuple)):
            raise ReferFormatError(
                f'ref_id={ref["ref_id"]} in {self.split_file} has a list of ann_ids '
                f'{list(ann_id)}: this is a gRefCOCO file, use GReferDataset')
        return [ann_id], {}

    def _select_refs(self, refs: List[dict]) -> List[dict]:
        """The refs of ``self.split`` among all the split file's refs."""
        return select_refs(refs, self.split, self.split_file)

    def _sentences(self, ref: dict) -> List[Tuple[int, str]]:
        other = 'raw' if self.text_key == 'sent' else 'sent'
        sents = []
        for sent in ref['sentences']:
            if not isinstance(sent, dict) or 'sent_id' not in sent:
                raise ReferFormatError(f'ref_id={ref["ref_id"]} in {self.split_file}: a '
                                       'sentence without "sent_id"')
            text = sent.get(self.text_key, sent.get(other))
            if text is None:
                raise ReferFormatError(
                    f'ref_id={ref["ref_id"]}, sent_id={sent["sent_id"]} in {self.split_file}: '
                    'the sentence has neither "sent" nor "raw"')
            sents.append((sent['sent_id'], text))
        if not sents:
            raise ReferFormatError(f'ref_id={ref["ref_id"]} in {self.split_file} has no '
                                   'sentence')
        return sents

    def load_data_list(self) -> List[dict]:
        """Read the split file and ``instances.json``; one entry per ref of the split.

        Returns:
            list[dict]: The refs of the split with everything a sample needs.
        """
        refs = self._select_refs(load_refs(self.split_file))
        images, anns = load_instances(self.ann_file)
        img_prefix = self.data_prefix.get('img_path', '')
        data_list = []
        for ref in refs:
            ref_id = ref['ref_id']
            image = images.get(ref['image_id'])
            if image is None:
                raise ReferFormatError(f'ref_id={ref_id} in {self.split_file}: image_id='
                                       f'{ref["image_id"]} is missing from {self.ann_file}')
            ann_ids, extra = self._targets(ref)
            segmentations = []
            for ann_id in ann_ids:
                ann = anns.get(ann_id)
                where = f'ref_id={ref_id}, ann_id={ann_id} ({self.ann_file})'
                if ann is None:
                    raise ReferFormatError(f'ref_id={ref_id} in {self.split_file}: ann_id='
                                           f'{ann_id} is missing from {self.ann_file}')
                if ann.get('image_id', ref['image_id']) != ref['image_id']:
                    raise ReferFormatError(f'{where}: annotation of image {ann["image_id"]}, '
                                           f'but the ref is on image {ref["image_id"]}')
                seg, dropped = _check_segmentation(
                    ann.get('segmentation'), image['height'], image['width'], where,
                    drop_parts=self.invalid_polygon == 'drop_part')
                for message in dropped:
                    print_log(f'{type(self).__name__}: dropped a part: {message}',
                              logger='current', level=logging.WARNING)
                segmentations.append(seg)
            data_list.append(dict(
                img_path=_join(img_prefix, image['file_name']),
                ref_id=ref_id,
                ann_id=ref['ann_id'],
                image_id=ref['image_id'],
                category_id=ref.get('category_id'),
                height=image['height'],
                width=image['width'],
                segmentations=segmentations,
                sentences=self._sentences(ref),
                **extra))
        return data_list

    # ------------------------------------------------------------ ref -> sample mapping
    def _build_sample_index(self, counts: np.ndarray) -> None:
        self._ref_counts = np.asarray(counts, dtype=np.int64)
        n = len(self._ref_counts)
        if self.text_mode == 'all':
            ref_idx = np.repeat(np.arange(n), self._ref_counts)
            starts = np.cumsum(self._ref_counts) - self._ref_counts
            sent_idx = np.arange(len(ref_idx)) - np.repeat(starts, self._ref_counts)
        else:
            ref_idx = np.arange(n)
            sent_idx = np.full(n, -1 if self.text_mode == 'random' else 0)
        self._sample_index = np.stack([ref_idx, sent_idx], axis=1).astype(np.int64)

    def full_init(self) -> None:
        """Load the refs, keep ``indices`` (refs), build the sample table, serialize."""
        if self._fully_initialized:
            return
        with _no_gc():  # the temporary objects are freed by reference counting
            self.data_list = self.load_data_list()
            self.data_list = self.filter_data()
            if self._indices is not None:
                self.data_list = self._get_unserialized_subset(self._indices)
            self._build_sample_index([len(r['sentences']) for r in self.data_list])
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True

    def _subset_counts(self, indices: Union[int, Sequence[int]]) -> np.ndarray:
        counts = self._ref_counts
        if isinstance(indices, int):
            return counts[:indices] if indices >= 0 else counts[indices:]
        return counts[np.asarray(indices, dtype=np.int64)]

    @force_full_init
    def get_subset_(self, indices: Union[int, Sequence[int]]) -> None:
        """Keep only the refs ``indices`` (with all their samples), in place."""
        counts = self._subset_counts(indices)
        super().get_subset_(indices)
        self._build_sample_index(counts)

    @force_full_init
    def get_subset(self, indices: Union[int, Sequence[int]]) -> 'ReferDataset':
        """A copy holding only the refs ``indices`` (with all their samples)."""
        sub = super().get_subset(indices)
        sub._build_sample_index(self._subset_counts(indices))
        return sub

    @force_full_init
    def __len__(self) -> int:
        return len(self._sample_index)

    @property
    @force_full_init
    def num_refs(self) -> int:
        """Number of refs in the split (after ``indices``)."""
        return len(self._ref_counts)

    @property
    @force_full_init
    def num_sentences(self) -> int:
        """Number of sentences of those refs (whatever ``text_mode``)."""
        return int(self._ref_counts.sum())

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The info of sample ``idx``: its ref's entry with one sentence chosen.

        Args:
            idx (int): Sample index.

        Returns:
            dict: The sample info.
        """
        ref_idx, sent_idx = (int(v) for v in self._sample_index[idx])
        info = super().get_data_info(ref_idx)
        sentences = info.pop('sentences')
        if sent_idx < 0:
            sent_idx = np.random.randint(len(sentences))
        info['sent_id'], info['text'] = sentences[sent_idx]
        info['sample_idx'] = int(idx) if idx >= 0 else len(self) + int(idx)
        info['ref_idx'] = ref_idx
        return info

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on sample ``idx``; any failure is re-raised as a
        :class:`ReferSampleError` naming the ref, the sentence and the image."""
        info = self.get_data_info(idx)
        desc = describe_sample(info)
        try:
            return self.pipeline(info)
        except ReferSampleError:
            raise
        except Exception as e:  # noqa: BLE001 - re-raised with the sample named
            raise ReferSampleError(f'{type(self).__name__} ({self.split}): sample {idx} '
                                   f'({desc}) failed in the pipeline: {type(e).__name__}: '
                                   f'{e}') from e

    def __repr__(self) -> str:  # pragma: no cover - display only
        head = super().__repr__()
        if not self._fully_initialized:
            return head
        return head + (f'\nSplit: {self.split} ({self.split_file}), text_mode: '
                       f'{self.text_mode}, refs: {self.num_refs}, sentences: '
                       f'{self.num_sentences}')


@DATASETS.register_module()
class GReferDataset(ReferDataset):
    """gRefCOCO: ``grefs(unc).json`` (or ``.p``) + ``instances.json``.

    A sentence may refer to several objects (the target is their union) or to none
    (``ann_id == [-1]`` or ``no_target``: empty target). Every sample's info carries
    ``no_target`` (bool), ``ann_id`` as a list, and one segmentation per target object.

    Both annotation releases are read; which one the split file is, is logged and kept in
    :attr:`release` and ``metainfo['grefcoco_release']``:

    - ``'2023-08-29'``: the re-release (ReLA's README, 2023/08/29) with train, val, testA
      and testB; val gained single-target expressions that were missing, and some
      ``ref_id`` / ``sent_id`` were renumbered (training expressions unchanged). ReLA's
      published numbers are on this release.
    - ``'2023-06'``: the first release, train and val only (testA / testB were held back):
      asking it for testA / testB is an error, and its val scores and ids are not
      comparable with the re-release's.

    Args:
        split_file (str): e.g. ``'grefcoco/grefs(unc).json'``.
        split (str): ``'train'``, ``'val'``, ``'testA'``, ``'testB'``.
        **kwargs: As :class:`ReferDataset`.
    """

    release: str = ''

    def _select_refs(self, refs: List[dict]) -> List[dict]:
        splits = {ref['split'] for ref in refs}
        self.release = '2023-08-29' if {'testA', 'testB'} <= splits else '2023-06'
        self._metainfo['grefcoco_release'] = self.release
        print_log(f'GReferDataset: {self.split_file} is the {self.release} release of '
                  f'gRefCOCO (splits {sorted(splits)})', logger='current')
        if self.release == '2023-06' and self.split.startswith('test'):
            raise ReferFormatError(
                f'{self.split_file} is the first gRefCOCO release (2023-06: splits '
                f'{sorted(splits)}), which has no {self.split}: download the 2023-08-29 '
                're-release (henghuiding/gRefCOCO)')
        return super()._select_refs(refs)

    def _targets(self, ref: dict) -> Tuple[List[int], Dict[str, Any]]:
        ann_ids = ref['ann_id']
        ann_ids = list(ann_ids) if isinstance(ann_ids, (list, tuple)) else [ann_ids]
        targets = [a for a in ann_ids if a != -1]
        no_target = bool(ref.get('no_target', False)) or not targets
        if no_target and targets:
            raise ReferFormatError(f'ref_id={ref["ref_id"]} in {self.split_file} is marked '
                                   f'no_target but lists the objects {targets}')
        return targets, dict(no_target=no_target)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        for info in data_list:  # ann_id and category_id always lists
            for key in ('ann_id', 'category_id'):
                value = info[key]
                if not isinstance(value, (list, tuple)):
                    value = [] if value is None else [value]
                info[key] = list(value)
        return data_list
