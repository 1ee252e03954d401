"""Referring datasets read directly from the REFER layout (RefCOCO, RefCOCO+, RefCOCOg,
RefCLEF) and from gRefCOCO's ``grefs(unc).json``.

The index is kept per *ref* (one entry with its sentences and the segmentation of its target),
and a small integer table maps every sample to ``(ref, sentence)``. This keeps the serialized
data one copy of each polygon however many sentences share it, and lets ``text_mode`` choose
between one sample per sentence and one sample per ref.
"""
import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.dataset.base_dataset import force_full_init
from mmengine.logging import print_log

from mmris.registry import DATASETS
from .errors import ReferFormatError, ReferSampleError, describe_sample
from .refer_files import (check_segmentation, join_root, load_instances, load_refs, no_gc,
                          select_refs)

__all__ = ['ReferDataset', 'TEXT_MODES', 'REFER_METAINFO']

TEXT_MODES = ('all', 'random', 'first')
REFER_METAINFO = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 64, 64]])


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
        self.split_file = join_root(data_root, split_file)
        self._sample_index = np.zeros((0, 2), dtype=np.int64)
        self._ref_counts = np.zeros(0, dtype=np.int64)
        self._ref_images = np.zeros(0, dtype=np.int64)
        self._image_paths: List[str] = []
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
                seg, dropped = check_segmentation(
                    ann.get('segmentation'), image['height'], image['width'], where,
                    drop_parts=self.invalid_polygon == 'drop_part')
                for message in dropped:
                    print_log(f'{type(self).__name__}: dropped a part: {message}',
                              logger='current', level=logging.WARNING)
                segmentations.append(seg)
            data_list.append(dict(
                img_path=join_root(img_prefix, image['file_name']),
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
    def _build_sample_index(self, counts: np.ndarray, images: np.ndarray) -> None:
        """Per ref: its sentence count and its image (an index into ``_image_paths``)."""
        self._ref_counts = np.asarray(counts, dtype=np.int64)
        self._ref_images = np.asarray(images, dtype=np.int64)
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
        with no_gc():  # the temporary objects are freed by reference counting
            self.data_list = self.load_data_list()
            self.data_list = self.filter_data()
            if self._indices is not None:
                self.data_list = self._get_unserialized_subset(self._indices)
            paths = {}
            images = [paths.setdefault(r['img_path'], len(paths)) for r in self.data_list]
            self._image_paths = list(paths)
            self._build_sample_index([len(r['sentences']) for r in self.data_list], images)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True

    def _subset_refs(self, indices: Union[int, Sequence[int]]) -> Tuple[np.ndarray, ...]:
        """The sentence counts and images of the refs ``indices``."""
        if isinstance(indices, int):
            keep = slice(None, indices) if indices >= 0 else slice(indices, None)
        else:
            keep = np.asarray(indices, dtype=np.int64)
        return self._ref_counts[keep], self._ref_images[keep]

    @force_full_init
    def get_subset_(self, indices: Union[int, Sequence[int]]) -> None:
        """Keep only the refs ``indices`` (with all their samples), in place."""
        refs = self._subset_refs(indices)
        super().get_subset_(indices)
        self._build_sample_index(*refs)

    @force_full_init
    def get_subset(self, indices: Union[int, Sequence[int]]) -> 'ReferDataset':
        """A copy holding only the refs ``indices`` (with all their samples)."""
        sub = super().get_subset(indices)
        sub._build_sample_index(*self._subset_refs(indices))
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
    def sample_image_paths(self) -> List[str]:
        """The image file of every sample, without deserializing the refs or drawing a
        sentence (:class:`ImageGroupedSampler` groups by it)."""
        paths = self._image_paths
        return [paths[i] for i in self._ref_images[self._sample_index[:, 0]]]

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
