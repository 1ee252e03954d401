"""Referring segmentation metrics: oIoU, mIoU, Prec@X, and gRefCOCO's N-acc / T-acc."""
import csv
import os
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmris.registry import METRICS

__all__ = ['ReferMetric', 'refer_scores']

_RESOLUTIONS = {'original': ('ori_shape', 'the original image size'),
                'input': ('img_shape', "the model's input size")}


def _get(sample: Any, key: str, default: Any = None) -> Any:
    """Read ``key`` from a data sample given as a dict (as the evaluator passes it) or as a
    ``SegDataSample``."""
    return sample.get(key, default)


def _mask(sample: Any, key: str) -> torch.Tensor:
    field = _get(sample, key)
    if field is None:
        raise KeyError(f'data sample without "{key}" (ref_id={_get(sample, "ref_id")}, '
                       f'sent_id={_get(sample, "sent_id")})')
    data = field['data'] if isinstance(field, dict) else field.data
    return data[0] if data.dim() == 3 else data


def refer_scores(inter: np.ndarray,
                 union: np.ndarray,
                 pred_area: np.ndarray,
                 no_target: Optional[np.ndarray] = None,
                 iou_thrs: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9)) -> Dict[str, float]:
    """The referring metrics, in percent, from per-sentence pixel counts.

    Args:
        inter (np.ndarray): Intersection per sentence.
        union (np.ndarray): Union per sentence (0 when the prediction and the target are both
            empty: IoU 1).
        pred_area (np.ndarray): Predicted area per sentence.
        no_target (np.ndarray, optional): gRefCOCO no-target flags; adds ``N-acc`` and
            ``T-acc``.
        iou_thrs (Sequence[float]): Thresholds of ``Prec@X`` (IoU >= X).

    Returns:
        dict: ``oIoU``, ``mIoU``, ``Prec@X``..., and ``N-acc``, ``T-acc`` with ``no_target``.
    """
    inter, union = np.asarray(inter, np.float64), np.asarray(union, np.float64)
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    scores = dict(oIoU=100 * inter.sum() / union.sum() if union.sum() > 0 else 100.0,
                  mIoU=100 * iou.mean())
    for thr in iou_thrs:
        scores[f'Prec@{thr:g}'] = 100 * float(np.mean(iou >= thr - 1e-12))
    if no_target is not None:
        no_target = np.asarray(no_target, bool)
        empty = np.asarray(pred_area) == 0
        scores['N-acc'] = 100 * float((empty & no_target).sum()) / max(no_target.sum(), 1)
        scores['T-acc'] = 100 * float((~empty & ~no_target).sum()) / max((~no_target).sum(), 1)
    return {k: float(v) for k, v in scores.items()}


@METRICS.register_module()
class ReferMetric(BaseMetric):
    """oIoU, mIoU and Prec@X of referring segmentation (plus N-acc / T-acc for gRefCOCO).

    Consumes the data samples mmseg's ``IoUMetric`` does: ``pred_sem_seg`` and
    ``gt_sem_seg`` ((1, H, W), foreground 1; ``ignore_index`` pixels of the target are left
    out). Intersection and union are counted in :meth:`process` on the tensors' device, one
    small record per sentence, so that mmengine's ``collect_results`` (which drops the
    sampler's padding) returns exactly one record per sentence of the split.

    - oIoU = sum I / sum U; mIoU = mean of I / U; Prec@X = share of sentences with IoU >= X.
      An empty prediction of an empty target has IoU 1.
    - N-acc = no-target sentences predicted empty / no-target sentences; T-acc = target
      sentences predicted non-empty / target sentences (only when samples carry
      ``no_target``).

    Args:
        resolution (str): ``'original'``: the masks must be at ``ori_shape`` (CRIS protocol);
            ``'input'``: at ``img_shape``, the model's input (LAVT protocol). Checked on every
            sample so that a pipeline that does not match is caught. Defaults to
            ``'original'``.
        iou_thrs (Sequence[float]): Thresholds of ``Prec@X``.
            Defaults to (0.5, 0.6, 0.7, 0.8, 0.9).
        ignore_index (int): Target value left out of the counts. Defaults to 255.
        output_dir (str, optional): Write ``refer_ious.csv`` (ref_id, sent_id, intersection,
            union, iou) there.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None (no prefix).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 resolution: str = 'original',
                 iou_thrs: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 ignore_index: int = 255,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        if resolution not in _RESOLUTIONS:
            raise ValueError(f'resolution must be one of {list(_RESOLUTIONS)}, '
                             f'got "{resolution}"')
        self.resolution = resolution
        self.iou_thrs = tuple(float(t) for t in iou_thrs)
        self.ignore_index = ignore_index
        self.output_dir = output_dir
        self._expected = None

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Count intersection and union of each sample.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence): Data samples (dicts or ``SegDataSample``) with
                ``pred_sem_seg`` and ``gt_sem_seg``.
        """
        self.results.extend(self.count(sample) for sample in data_samples)

    def count(self, sample: Any) -> dict:
        """The record of one sample: ``ref_id``, ``sent_id``, ``inter``, ``union``,
        ``pred_area`` (pixels at the metric's resolution; target pixels equal to
        ``ignore_index`` left out) and ``no_target`` (None outside gRefCOCO).

        Args:
            sample (Any): A data sample (dict or ``SegDataSample``) with ``pred_sem_seg``
                and ``gt_sem_seg``.

        Returns:
            dict: The record.
        """
        shape_key, _ = _RESOLUTIONS[self.resolution]
        ref_id, sent_id = _get(sample, 'ref_id'), _get(sample, 'sent_id')
        pred = _mask(sample, 'pred_sem_seg')
        gt = _mask(sample, 'gt_sem_seg').to(pred.device)
        if pred.shape != gt.shape:
            raise ValueError(f'ReferMetric: ref_id={ref_id}, sent_id={sent_id}: prediction '
                             f'shape {tuple(pred.shape)} differs from the target shape '
                             f'{tuple(gt.shape)}')
        expected = _get(sample, shape_key)
        if expected is not None and tuple(gt.shape) != tuple(expected[:2]):
            raise ValueError(
                f'ReferMetric(resolution="{self.resolution}"): ref_id={ref_id}, sent_id='
                f'{sent_id}: target shape {tuple(gt.shape)} is not {shape_key} '
                f'{tuple(expected[:2])}. Load the annotation after the resize to score at '
                'the original size, before it to score at the input size, and set the '
                'model to output at the same size.')
        valid = gt != self.ignore_index
        pred_fg = (pred > 0) & valid
        gt_fg = (gt == 1) & valid
        no_target = _get(sample, 'no_target')
        return dict(
            ref_id=ref_id, sent_id=sent_id,
            inter=int((pred_fg & gt_fg).sum()), union=int((pred_fg | gt_fg).sum()),
            pred_area=int(pred_fg.sum()),
            no_target=None if no_target is None else bool(no_target))

    def evaluate(self, size: int) -> dict:
        """Collect the records of all ranks (``size``: the dataset's length) and score them."""
        self._expected = size
        return super().evaluate(size)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score the collected records (rank 0).

        Args:
            results (list[dict]): One record per sentence.

        Returns:
            dict: The metrics in percent.
        """
        logger = MMLogger.get_current_instance()
        _, where = _RESOLUTIONS[self.resolution]
        print_log(f'ReferMetric: scored {len(results)} sentences at {where} '
                  f'(resolution="{self.resolution}")', logger=logger)
        if self._expected is not None and len(results) != self._expected:
            print_log(f'ReferMetric: {len(results)} sentences scored but the dataset has '
                      f'{self._expected}', logger=logger, level=30)
        repeated = [k for k, n in Counter((r['ref_id'], r['sent_id']) for r in results).items()
                    if n > 1]
        if repeated:
            print_log(f'ReferMetric: {len(repeated)} (ref_id, sent_id) pairs scored more than '
                      f'once, e.g. {repeated[:3]}', logger=logger, level=30)
        flags = [r['no_target'] for r in results]
        has_flags = any(f is not None for f in flags)
        scores = refer_scores(
            np.array([r['inter'] for r in results]), np.array([r['union'] for r in results]),
            np.array([r['pred_area'] for r in results]),
            np.array([bool(f) for f in flags]) if has_flags else None, self.iou_thrs)
        if self.output_dir:
            self._write_ious(results)
        print_log('ReferMetric: ' + ', '.join(f'{k}: {v:.2f}' for k, v in scores.items()),
                  logger=logger)
        return scores

    def _write_ious(self, results: List[dict]) -> None:
        os.makedirs(self.output_dir, exist_ok=True)
        path = osp.join(self.output_dir, 'refer_ious.csv')
        with open(path, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['ref_id', 'sent_id', 'intersection', 'union', 'iou', 'no_target'])
            for r in results:
                iou = r['inter'] / r['union'] if r['union'] else 1.0
                writer.writerow([r['ref_id'], r['sent_id'], r['inter'], r['union'],
                                 f'{iou:.6f}', '' if r['no_target'] is None else
                                 int(r['no_target'])])
        print_log(f'ReferMetric: per-sentence IoUs written to {path}',
                  logger=MMLogger.get_current_instance())
