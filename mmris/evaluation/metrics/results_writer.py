"""``RISResultsWriter``: the per-sentence results file of ``tools/test.py --out``."""
import copy
import datetime
import logging
import os.path as osp
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmris.registry import METRICS
from ..results_file import encode_logits, encode_mask, write_results
from .refer_metric import ReferMetric, _get, _mask

__all__ = ['RISResultsWriter', 'add_results_writer']

_ID_KEYS = ('image_id', 'ref_id', 'sent_id', 'ann_id')


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Hide INFO lines (the scorer's own log, already printed by the evaluator's
    ReferMetric); warnings still show."""
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


@METRICS.register_module()
class RISResultsWriter(BaseMetric):
    """Write one record per test sentence (ids, sentence, intersection, union, predicted mask
    as COCO RLE, optionally the logits) to a JSON-lines file; see
    :mod:`mmris.evaluation.results_file` and docs/train_test.md for the format, and
    :func:`mmris.evaluation.load_results` to read it.

    Intersection and union are counted by ``scorer`` (a :class:`ReferMetric`, built from the
    evaluator's own ReferMetric config by :func:`add_results_writer`), so they are the
    numbers the metric scored, at its resolution; the header's ``metrics`` are the scorer's
    on the same records, and ``metric_protocol`` is the scorer's ``protocol`` attribute
    when it has one (a dict). Records are gathered on rank 0 by mmengine's
    ``collect_results`` (which drops the distributed sampler's padding), so every sentence
    appears once, in the dataset's order; rank 0 writes the file. Adds no metric.

    Args:
        out_file (str): The file; gzip-compressed when it ends with ``.gz``.
        scorer (dict | ReferMetric): Counts intersection and union.
            Defaults to ``dict(type='ReferMetric')``.
        with_logits (bool): Also store the raw logits at the mask's size (float16, zlib +
            base64): about 0.3-0.6 MB per 640 x 480 sentence. Defaults to False.
        header (dict, optional): Extra header entries (JSON-serialisable), e.g. ``config``
            and ``checkpoint``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Unused (the writer adds no metric).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 out_file: str,
                 scorer: Union[dict, ReferMetric, None] = None,
                 with_logits: bool = False,
                 header: Optional[Dict[str, Any]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        if out_file.endswith(('.pkl', '.pickle')):
            raise ValueError(f'results file {out_file!r}: the results are written as JSON '
                             'lines, not a pickle; name it .jsonl or .jsonl.gz')
        scorer = dict(type='ReferMetric') if scorer is None else scorer
        if isinstance(scorer, dict):
            scorer = METRICS.build(dict(copy.deepcopy(scorer), output_dir=None))
        if not callable(getattr(scorer, 'count', None)):
            raise TypeError(f'RISResultsWriter: scorer {type(scorer).__name__} has no '
                            '`count(sample)` method (use a ReferMetric)')
        self.scorer = scorer
        self.out_file = out_file
        self.with_logits = with_logits
        self.header = dict(header or {})
        self._size: Optional[int] = None

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """One record per sample (the scorer's counts and the encoded mask).

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence): Data samples (dicts or ``SegDataSample``) with
                ``pred_sem_seg``, ``gt_sem_seg`` and, with ``with_logits``, ``seg_logits``.
        """
        for sample in data_samples:
            counts = self.scorer.count(sample)
            record = {k: _get(sample, k) for k in _ID_KEYS}
            img_path = _get(sample, 'img_path')
            record.update(
                file_name=osp.basename(img_path) if img_path else None,
                sentence=_get(sample, 'text'),
                intersection=counts['inter'], union=counts['union'],
                mask=encode_mask(_mask(sample, 'pred_sem_seg').cpu().numpy()))
            if counts.get('no_target') is not None:
                record['no_target'] = counts['no_target']
            if self.with_logits:
                record['logits'] = encode_logits(
                    _mask(sample, 'seg_logits').float().cpu().numpy())
            # the scorer's record travels along for the header's metrics
            self.results.append(dict(record=record, counts=counts))

    def evaluate(self, size: int) -> dict:
        """Gather the records of all ranks (``size``: the dataset's length) and write them."""
        self._size = size
        return super().evaluate(size)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the file (rank 0).

        Args:
            results (list[dict]): One entry per sentence, in the dataset's order.

        Returns:
            dict: Empty (the evaluator's ReferMetric reports the metrics).
        """
        logger = MMLogger.get_current_instance()
        records = [r['record'] for r in results]
        if self._size is not None and len(records) != self._size:
            print_log(f'RISResultsWriter: {len(records)} records but the dataset has '
                      f'{self._size} sentences', logger=logger, level=logging.WARNING)
        with _quiet(logger):
            metrics = self.scorer.compute_metrics([r['counts'] for r in results])
        header = dict(
            num_records=len(records),
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
        header.update(self.header)
        header.update(
            metrics=metrics,
            resolution=getattr(self.scorer, 'resolution', None),
            ignore_index=getattr(self.scorer, 'ignore_index', None),
            mask='coco_rle',
            logits=dict(dtype='float16', encoding='zlib+base64', order='C')
            if self.with_logits else None)
        protocol = getattr(self.scorer, 'protocol', None)
        if isinstance(protocol, dict):
            header['metric_protocol'] = protocol
        from mmris import __version__
        header['mmris_version'] = __version__
        size = write_results(self.out_file, header, records)
        print_log(f'RISResultsWriter: {len(records)} sentences written to {self.out_file} '
                  f'({size / 2**20:.2f} MB, {size / max(len(records), 1) / 1024:.2f} KB per '
                  'sentence)', logger=logger)
        return {}


def _is_refer_metric(metric: Any) -> bool:
    kind = metric.get('type') if isinstance(metric, dict) else None
    if isinstance(kind, str):
        return kind.split('.')[-1] == 'ReferMetric'
    return isinstance(kind, type) and issubclass(kind, ReferMetric)


def add_results_writer(evaluator: Union[dict, list, None],
                       out_file: str,
                       with_logits: bool = False,
                       header: Optional[Dict[str, Any]] = None) -> Union[dict, list]:
    """An evaluator config with a :class:`RISResultsWriter` appended, counting like the
    evaluator's ReferMetric (the first one; a default ReferMetric if it has none).

    Args:
        evaluator (dict | list | None): ``test_evaluator`` of a config: a metric, a list of
            metrics, or ``dict(type='Evaluator', metrics=...)``.
        out_file (str): The results file.
        with_logits (bool): Store the logits too. Defaults to False.
        header (dict, optional): Extra header entries.

    Returns:
        dict | list: The new evaluator config (the input is not changed).
    """
    evaluator = copy.deepcopy(evaluator)
    wrapped = isinstance(evaluator, dict) and 'metrics' in evaluator
    metrics = evaluator['metrics'] if wrapped else evaluator
    metrics = [] if metrics is None else \
        list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    scorer = next((copy.deepcopy(m) for m in metrics if _is_refer_metric(m)),
                  dict(type='ReferMetric'))
    metrics.append(dict(type='RISResultsWriter', out_file=out_file, scorer=scorer,
                        with_logits=with_logits, header=header))
    if wrapped:
        evaluator['metrics'] = metrics
        return evaluator
    return metrics
