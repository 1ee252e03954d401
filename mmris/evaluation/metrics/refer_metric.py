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
PREC_COMPARISONS = ('>=', '>')


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
                 iou_thrs: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 pred_no_target: Optional[np.ndarray] = None,
                 prec_comparison: str = '>=') -> Dict[str, float]:
    """The referring metrics, in percent, from per-sentence pixel counts.

    Without ``no_target`` (RefCOCO & co.): ``oIoU`` = sum I / sum U, ``mIoU`` = mean I / U
    (an empty prediction of an empty target: IoU 1), ``Prec@X`` = share of sentences with
    IoU >= X (or > X).

    With ``no_target`` (gRefCOCO), ReLA's definitions (``gres_model/evaluation/
    refer_evaluation.py``) from the model's no-target decision ``pred_no_target`` (default:
    the prediction is empty), per sentence:

    - no target, decided "no target" (TP): IoU 1, I = U = 0;
    - no target, decided "target" (FN): IoU 0, I = 0, U = the predicted area;
    - target, decided "no target" (FP): I = 0, U = the mask union, IoU 0;
    - target, decided "target" (TN): I, U and IoU of the masks (IoU 0 if U = 0).

    ``cIoU`` = sum I / sum U, ``gIoU`` = mean IoU, ``Prec@X`` over the sentences *with* a
    target only, ``N-acc`` = TP / (TP + FN), ``T-acc`` = TN / (TN + FP) (ReLA gives both
    as 0 when the split has no no-target sentence, and as fractions; here percent).
    ``oIoU`` / ``mIoU`` stay the mask-only scores over all sentences.

    Args:
        inter (np.ndarray): Intersection per sentence.
        union (np.ndarray): Union per sentence (0 when the prediction and the target are both
            empty).
        pred_area (np.ndarray): Predicted area per sentence.
        no_target (np.ndarray, optional): gRefCOCO's ground-truth no-target flags.
        iou_thrs (Sequence[float]): Thresholds of ``Prec@X``.
        pred_no_target (np.ndarray, optional): The model's no-target decisions (e.g. from a
            head's score); default: empty prediction.
        prec_comparison (str): ``'>='`` (LAVT, MagNet, ReLA) or ``'>'`` (CRIS).

    Returns:
        dict: ``oIoU``, ``mIoU``, ``Prec@X``..., and with ``no_target`` also ``cIoU``,
        ``gIoU``, ``N-acc``, ``T-acc``.
    """
    if prec_comparison not in PREC_COMPARISONS:
        raise ValueError(f'prec_comparison must be one of {PREC_COMPARISONS}, got '
                         f'"{prec_comparison}"')
    inter, union = np.asarray(inter, np.float64), np.asarray(union, np.float64)
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    scores = dict(oIoU=100 * inter.sum() / union.sum() if union.sum() > 0 else 100.0,
                  mIoU=100 * iou.mean())

    def prec(values: np.ndarray, thr: float) -> float:
        if not len(values):
            return 0.0
        hit = values >= thr - 1e-12 if prec_comparison == '>=' else values > thr
        return 100 * float(np.mean(hit))

    if no_target is None:
        for thr in iou_thrs:
            scores[f'Prec@{thr:g}'] = prec(iou, thr)
        return {k: float(v) for k, v in scores.items()}
    gt_nt = np.asarray(no_target, bool)
    pred_nt = np.asarray(pred_area) == 0 if pred_no_target is None \
        else np.asarray(pred_no_target, bool)
    tp, fn = gt_nt & pred_nt, gt_nt & ~pred_nt
    tn, fp = ~gt_nt & ~pred_nt, ~gt_nt & pred_nt
    i_eff = np.where(gt_nt | fp, 0.0, inter)
    u_eff = np.where(tp, 0.0, union)
    g_iou = np.where(tp, 1.0, np.where(u_eff > 0, i_eff / np.maximum(u_eff, 1), 0.0))
    for thr in iou_thrs:
        scores[f'Prec@{thr:g}'] = prec(g_iou[~gt_nt], thr)
    scores['cIoU'] = 100 * i_eff.sum() / u_eff.sum() if u_eff.sum() > 0 else 100.0
    scores['gIoU'] = 100 * g_iou.mean()
    has_nt = gt_nt.any()
    scores['N-acc'] = 100 * tp.sum() / gt_nt.sum() if has_nt else 0.0
    scores['T-acc'] = 100 * tn.sum() / max((~gt_nt).sum(), 1) if has_nt else 0.0
    return {k: float(v) for k, v in scores.items()}


@METRICS.register_module()
class ReferMetric(BaseMetric):
    """oIoU, mIoU and Prec@X of referring segmentation (plus ReLA's cIoU, gIoU, N-acc and
    T-acc for gRefCOCO).

    Consumes the data samples mmseg's ``IoUMetric`` does: ``pred_sem_seg`` and
    ``gt_sem_seg`` ((1, H, W), foreground 1; ``ignore_index`` pixels of the target are left
    out). Intersection and union are counted in :meth:`process` on the tensors' device, one
    small record per sentence, so that mmengine's ``collect_results`` (which drops the
    sampler's padding) returns exactly one record per sentence of the split.

    - oIoU = sum I / sum U; mIoU = mean of I / U; Prec@X = share of sentences with IoU >= X
      (``prec_comparison='>'``: IoU > X, CRIS's rule). An empty prediction of an empty
      target has IoU 1.
    - gRefCOCO (samples carry ``no_target``): ReLA's definitions, see :func:`refer_scores`;
      the no-target decision is the sample's ``pred_no_target`` (set by the segmentor when
      the head gives a score) or else an empty prediction.

    The protocol applied (resolution, input size, the model's threshold and resize undo
    from the samples' ``postprocess`` metainfo, the Prec@X rule, the no-target decision) is
    logged with the scores and kept in :attr:`protocol`.

    Args:
        resolution (str): ``'original'``: the masks must be at ``ori_shape`` (CRIS protocol);
            ``'input'``: at ``img_shape``, the model's input (LAVT protocol). Checked on every
            sample so that a pipeline that does not match is caught. Defaults to
            ``'original'``.
        iou_thrs (Sequence[float]): Thresholds of ``Prec@X``.
            Defaults to (0.5, 0.6, 0.7, 0.8, 0.9).
        ignore_index (int): Target value left out of the counts. Defaults to 255.
        prec_comparison (str): ``'>='`` (LAVT, MagNet, ReLA) or ``'>'`` (CRIS).
            Defaults to ``'>='``.
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
                 prec_comparison: str = '>=',
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
        if prec_comparison not in PREC_COMPARISONS:
            raise ValueError(f'prec_comparison must be one of {PREC_COMPARISONS}, got '
                             f'"{prec_comparison}"')
        self.ignore_index = ignore_index
        self.prec_comparison = prec_comparison
        self.output_dir = output_dir
        self._expected = None
        #: The protocol applied; the model's side is filled in from the scored samples.
        self.protocol: Dict[str, Any] = dict(
            resolution=resolution, scored_at=_RESOLUTIONS[resolution][1], input_size=None,
            threshold=None, output_size=None, undo_resize=None,
            prec_comparison=f'IoU {prec_comparison} X', iou_thrs=list(self.iou_thrs),
            no_target_decision=None)

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
        ``ignore_index`` left out), ``no_target`` and ``pred_no_target`` (None outside
        gRefCOCO / without a head's decision). Also notes the protocol of the sample.

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
        no_target, pred_nt = _get(sample, 'no_target'), _get(sample, 'pred_no_target')
        self._note_protocol(sample, no_target is not None, pred_nt is not None)
        return dict(
            ref_id=ref_id, sent_id=sent_id,
            inter=int((pred_fg & gt_fg).sum()), union=int((pred_fg | gt_fg).sum()),
            pred_area=int(pred_fg.sum()),
            no_target=None if no_target is None else bool(no_target),
            pred_no_target=None if pred_nt is None else bool(pred_nt))

    def _note_protocol(self, sample: Any, grefer: bool, scored_nt: bool) -> None:
        p = self.protocol
        if p['input_size'] is None and _get(sample, 'img_shape') is not None:
            p['input_size'] = [int(v) for v in _get(sample, 'img_shape')[:2]]
        post = _get(sample, 'postprocess')
        if post and p['threshold'] is None:
            p.update(threshold=post.get('threshold'), output_size=post.get('output_size'),
                     undo_resize=post.get('undo_resize'))
        if grefer and p['no_target_decision'] is None:
            p['no_target_decision'] = 'head score' if scored_nt else 'empty mask'

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
        p = self.protocol
        size = 'x'.join(str(v) for v in p['input_size']) if p['input_size'] else '?'
        post = ('' if p['threshold'] is None else
                f', mask: sigmoid > {p["threshold"]} after the "{p["undo_resize"]}" undo '
                f'of the resize')
        nt = '' if p['no_target_decision'] is None else \
            f', gRefCOCO (ReLA) no-target decision: {p["no_target_decision"]}'
        print_log(f'ReferMetric: scored {len(results)} sentences at {p["scored_at"]} '
                  f'(resolution="{self.resolution}"), input {size}{post}, Prec@X: '
                  f'{p["prec_comparison"]}{nt}', logger=logger)
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
        decided = [r.get('pred_no_target') for r in results]
        pred_nt = None
        if any(d is not None for d in decided):
            pred_nt = np.array([bool(d) if d is not None else r['pred_area'] == 0
                                for d, r in zip(decided, results)])
        scores = refer_scores(
            np.array([r['inter'] for r in results]), np.array([r['union'] for r in results]),
            np.array([r['pred_area'] for r in results]),
            np.array([bool(f) for f in flags]) if has_flags else None, self.iou_thrs,
            pred_nt, self.prec_comparison)
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
