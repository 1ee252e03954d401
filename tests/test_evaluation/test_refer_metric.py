import csv
import json
import os.path as osp

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.evaluation import ReferMetric, RISResultsWriter, load_results


def sample(gt_px, pred_px, size=(4, 4), ref_id=0, sent_id=0, as_dict=True, **meta):
    """A data sample with ``gt_px`` / ``pred_px`` foreground pixels (flat indices)."""
    gt = torch.zeros(size[0] * size[1], dtype=torch.int64)
    pred = torch.zeros_like(gt)
    gt[torch.tensor(list(gt_px), dtype=torch.long)] = 1
    pred[torch.tensor(list(pred_px), dtype=torch.long)] = 1
    ds = SegDataSample(metainfo=dict(ref_id=ref_id, sent_id=sent_id, ori_shape=size,
                                     img_shape=(8, 8), **meta))
    ds.gt_sem_seg = PixelData(data=gt.view(1, *size))
    ds.pred_sem_seg = PixelData(data=pred.view(1, *size))
    return ds.to_dict() if as_dict else ds


def score(samples, **kwargs):
    metric = ReferMetric(**kwargs)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


HAND = [
    dict(gt_px=range(4), pred_px=range(4)),  # I 4, U 4: IoU 1
    dict(gt_px=range(4), pred_px=range(2)),  # I 2, U 4: IoU 0.5
    dict(gt_px=range(4), pred_px=[]),  # empty prediction: I 0, U 4
    dict(gt_px=[], pred_px=[]),  # empty prediction of an empty target: IoU 1
]


def test_hand_computed():
    res = score([sample(**h, sent_id=i) for i, h in enumerate(HAND)])
    assert res['oIoU'] == pytest.approx(100 * 6 / 12)
    assert res['mIoU'] == pytest.approx(100 * 2.5 / 4)
    assert res['Prec@0.5'] == pytest.approx(75.0)
    for thr in ('0.6', '0.7', '0.8', '0.9'):
        assert res[f'Prec@{thr}'] == pytest.approx(50.0)
    assert 'N-acc' not in res and 'T-acc' not in res


def test_no_target():
    samples = [sample([], [], no_target=True, sent_id=1),
               sample([], [0, 1, 2], no_target=True, sent_id=2),
               sample(range(4), range(4), no_target=False, sent_id=3),
               sample(range(4), [], no_target=False, sent_id=4)]
    res = score(samples)
    assert res['N-acc'] == pytest.approx(50.0) and res['T-acc'] == pytest.approx(50.0)
    assert res['mIoU'] == pytest.approx(50.0)
    assert res['oIoU'] == pytest.approx(100 * 4 / 11)


def test_shape_checks():
    bad = sample(range(4), range(4), as_dict=False)
    bad.pred_sem_seg = PixelData(data=torch.zeros(1, 5, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match='ref_id=0, sent_id=0: prediction shape'):
        ReferMetric().process({}, [bad])
    with pytest.raises(ValueError, match=r'target shape \(4, 4\) is not img_shape \(8, 8\)'):
        ReferMetric(resolution='input').process({}, [sample(range(4), range(4))])
    with pytest.raises(ValueError, match='resolution'):
        ReferMetric(resolution='480')


def test_segdatasample_input_and_output_dir(tmp_path):
    res = score([sample(**h, sent_id=i, as_dict=False) for i, h in enumerate(HAND)],
                output_dir=str(tmp_path))
    assert res['oIoU'] == pytest.approx(50.0)
    with open(osp.join(tmp_path, 'refer_ious.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [float(r['iou']) for r in rows] == [1.0, 0.5, 0.0, 1.0]


def distinct_samples():
    """7 samples with distinct IoUs: a sentence counted twice would change every metric."""
    return [sample(range(8), range(k), sent_id=k) for k in range(7)]


def _worker(rank, world, tmp_dir, out_file):
    import torch.distributed as dist
    from mmengine.dataset import DefaultSampler
    dist.init_process_group('gloo', init_method=f'file://{tmp_dir}/init', rank=rank,
                            world_size=world)
    samples = distinct_samples()
    sampler = DefaultSampler(samples, shuffle=False)  # pads to a multiple of world size
    metric = ReferMetric(collect_dir=f'{tmp_dir}/collect')
    writer = RISResultsWriter(f'{tmp_dir}/results.jsonl', collect_dir=f'{tmp_dir}/collect_w')
    for idx in sampler:
        metric.process({}, [samples[idx]])
        writer.process({}, [samples[idx]])
    res = metric.evaluate(len(samples))
    writer.evaluate(len(samples))  # rank 0 writes the results file
    if rank == 0:
        with open(out_file, 'w') as f:
            json.dump(dict(res=res, n=len(metric.results)), f)
    dist.barrier()
    dist.destroy_process_group()


def test_two_processes_equal_one(tmp_path):
    out_file = str(tmp_path / 'out.json')
    mp.spawn(_worker, args=(2, str(tmp_path), out_file), nprocs=2, join=True)
    with open(out_file) as f:
        two = json.load(f)['res']
    one = score(distinct_samples())
    assert two.keys() == one.keys()
    for k in one:
        assert two[k] == pytest.approx(one[k]), k
    assert one['mIoU'] == pytest.approx(100 * sum(k / 8 for k in range(7)) / 7)
    # the results file holds every sentence once, in order, with the metric's counts
    header, records = load_results(str(tmp_path / 'results.jsonl'))
    assert [r['sent_id'] for r in records] == list(range(7))
    assert [r['intersection'] for r in records] == list(range(7))
    assert header['metrics'] == pytest.approx(one)


# ReLA's four cases (gres_model/evaluation/refer_evaluation.py) on 4 x 4 masks:
GREF = [
    dict(gt_px=[], pred_px=[], no_target=True, sent_id=1),  # no target, empty mask
    dict(gt_px=[], pred_px=[0, 1, 2], no_target=True, sent_id=2),  # no target, 3 px
    dict(gt_px=range(4), pred_px=[2, 3, 4, 5], no_target=False, sent_id=3),  # I 2, U 6
    dict(gt_px=range(4), pred_px=[], no_target=False, sent_id=4),  # empty mask, U 4
    dict(gt_px=range(4), pred_px=range(4), no_target=False, sent_id=5),  # I 4, U 4
]


def test_grefcoco_rela_empty_mask_decision():
    """Decision = empty mask: TP (1), FN (2, U 3), TN (3: 1/3; 5: 1), FP (4: I 0, U 4)."""
    metric = ReferMetric(iou_thrs=(0.3, 0.7, 0.9))
    metric.process({}, [sample(**g) for g in GREF])
    res = metric.evaluate(len(GREF))
    assert res['cIoU'] == pytest.approx(100 * (2 + 4) / (3 + 6 + 4 + 4))
    assert res['gIoU'] == pytest.approx(100 * (1 + 0 + 1 / 3 + 0 + 1) / 5)
    assert res['N-acc'] == pytest.approx(50.0)
    assert res['T-acc'] == pytest.approx(100 * 2 / 3)
    # Prec@X over the three sentences with a target (IoUs 1/3, 0, 1)
    assert res['Prec@0.3'] == pytest.approx(100 * 2 / 3)
    assert res['Prec@0.7'] == pytest.approx(100 / 3) and res['Prec@0.9'] == pytest.approx(100 / 3)
    assert res['oIoU'] == pytest.approx(100 * 6 / 17)
    assert metric.protocol['no_target_decision'] == 'empty mask'


def test_grefcoco_rela_head_decision():
    """A head's decisions: 2 becomes TP (its 3 px not counted), 4 TN (IoU 0), 5 FP (I 0)."""
    decided = [True, True, False, False, True]
    res = score([sample(**g, pred_no_target=d) for g, d in zip(GREF, decided)],
                iou_thrs=(0.3, 0.7))
    assert res['cIoU'] == pytest.approx(100 * 2 / (6 + 4 + 4))
    assert res['gIoU'] == pytest.approx(100 * (1 + 1 + 1 / 3 + 0 + 0) / 5)
    assert res['N-acc'] == pytest.approx(100.0)
    assert res['T-acc'] == pytest.approx(100 * 2 / 3)
    assert res['Prec@0.3'] == pytest.approx(100 / 3) and res['Prec@0.7'] == 0.0
    assert res['oIoU'] == pytest.approx(100 * 6 / 17)  # the masks' own score is unchanged


def test_prec_comparison_and_protocol():
    post = dict(threshold=0.35, output_size='original', undo_resize='cris')
    metric = ReferMetric(prec_comparison='>')
    metric.process({}, [sample(**h, sent_id=i, postprocess=post) for i, h in enumerate(HAND)])
    res = metric.evaluate(len(HAND))
    assert res['Prec@0.5'] == pytest.approx(50.0)  # IoU 0.5 is not > 0.5 (CRIS)
    assert score([sample(**h, sent_id=i) for i, h in enumerate(HAND)])['Prec@0.5'] == 75.0
    p = metric.protocol
    assert p['resolution'] == 'original' and p['input_size'] == [8, 8]
    assert p['threshold'] == 0.35 and p['undo_resize'] == 'cris'
    assert p['prec_comparison'] == 'IoU > X' and p['no_target_decision'] is None
    with pytest.raises(ValueError, match='prec_comparison'):
        ReferMetric(prec_comparison='=>')
