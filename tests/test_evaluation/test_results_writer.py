"""RISResultsWriter and the results file of ``tools/test.py --out``: what is written is what
the metric scored, and it reads back without running code."""
import gzip
import json

import numpy as np
import pytest
import torch

from mmris.evaluation import (RISResultsWriter, ReferMetric, add_results_writer, decode_logits,
                              decode_mask, encode_mask, load_results)


def _samples(n=7, seed=0, shape=(37, 53), with_logits=True):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        gt = torch.from_numpy(rng.random(shape) < 0.3).long()[None]
        gt[0, 0, :3] = 255  # ignored target pixels
        logits = torch.from_numpy(rng.normal(0, 4, shape).astype(np.float32))[None]
        pred = (logits > 0).long()
        if i == 0:
            pred.zero_()  # an empty prediction
        sample = dict(pred_sem_seg=dict(data=pred), gt_sem_seg=dict(data=gt),
                      ori_shape=shape, image_id=100 + i // 2, ref_id=10 + i // 2, sent_id=i,
                      ann_id=1000 + i // 2, text=f'the thing number {i}',
                      img_path=f'data/images/img{i // 2}.jpg')
        if with_logits:
            sample['seg_logits'] = dict(data=logits)
        samples.append(sample)
    return samples


def _write(tmp_path, samples, name='r.jsonl', **kwargs):
    writer = RISResultsWriter(str(tmp_path / name), **kwargs)
    writer.process(None, samples)
    assert writer.compute_metrics(writer.results) == {}  # adds no metric
    return str(tmp_path / name)


def test_mask_and_logits_round_trip():
    rng = np.random.default_rng(1)
    for mask in (rng.random((31, 17)) < 0.5, np.zeros((4, 5)), np.ones((6, 3))):
        rle = encode_mask(mask.astype(np.uint8))
        assert isinstance(rle['counts'], str) and rle['size'] == list(mask.shape)
        json.dumps(rle)
        assert np.array_equal(decode_mask(rle), mask.astype(np.uint8))
    with pytest.raises(ValueError, match='H x W'):
        encode_mask(np.zeros((1, 4, 5)))


@pytest.mark.parametrize('name', ['r.jsonl', 'r.jsonl.gz'])
def test_records_are_what_the_metric_scored(tmp_path, name):
    samples = _samples()
    path = _write(tmp_path, samples, name, header=dict(config='c.py', checkpoint='w.pth'))
    if name.endswith('.gz'):
        with open(path, 'rb') as f:
            assert f.read(2) == b'\x1f\x8b'
    header, records = load_results(path, decode_masks=True)
    metric = ReferMetric()
    metric.process(None, samples)
    expected = metric.compute_metrics(metric.results)
    assert header['format'] == 'mmris-ris-results' and header['version'] == 1
    assert header['metrics'] == pytest.approx(expected)
    assert header['config'] == 'c.py' and header['checkpoint'] == 'w.pth'
    assert header['num_records'] == len(records) == len(samples)
    assert header['resolution'] == 'original' and header['logits'] is None
    assert header['metric_protocol']['resolution'] == 'original'
    assert header['metric_protocol']['prec_comparison'] == 'IoU >= X'
    for sample, counts, rec in zip(samples, metric.results, records):
        assert (rec['image_id'], rec['ref_id'], rec['sent_id'], rec['ann_id']) == \
            (sample['image_id'], sample['ref_id'], sample['sent_id'], sample['ann_id'])
        assert rec['sentence'] == sample['text'] and rec['file_name'] == \
            sample['img_path'].split('/')[-1]
        assert 'logits' not in rec  # only on request
        pred = sample['pred_sem_seg']['data'][0].numpy()
        assert np.array_equal(rec['mask_array'], pred.astype(np.uint8))
        # intersection / union recomputed from the decoded mask are the stored ones
        gt = sample['gt_sem_seg']['data'][0].numpy()
        valid = gt != 255
        mask = rec['mask_array'].astype(bool) & valid
        target = (gt == 1) & valid
        assert rec['intersection'] == (mask & target).sum() == counts['inter']
        assert rec['union'] == (mask | target).sum() == counts['union']


def test_logits_on_request(tmp_path):
    samples = _samples(n=3)
    header, records = load_results(_write(tmp_path, samples, with_logits=True),
                                   decode_logits=True)
    assert header['logits']['dtype'] == 'float16'
    for sample, rec in zip(samples, records):
        logits = sample['seg_logits']['data'][0].numpy()
        assert rec['logits'].dtype == np.float16 and rec['logits'].shape == logits.shape
        np.testing.assert_allclose(rec['logits'], logits, rtol=1e-3, atol=1e-3)
    _, raw = load_results(str(tmp_path / 'r.jsonl'))
    assert np.array_equal(decode_logits(raw[0]['logits']), records[0]['logits'])


def test_header_takes_the_scorer_protocol_and_resolution(tmp_path):
    scorer = ReferMetric(resolution='input', prec_comparison='>')
    samples = _samples(n=2)
    for s in samples:
        s['img_shape'] = s.pop('ori_shape')
    header, _ = load_results(_write(tmp_path, samples, scorer=scorer))
    assert header['metric_protocol'] == scorer.protocol
    assert header['metric_protocol']['prec_comparison'] == 'IoU > X'
    assert header['metric_protocol']['input_size'] == list(samples[0]['img_shape'][:2])
    assert header['resolution'] == 'input'


def test_grefcoco_records_keep_no_target(tmp_path):
    samples = _samples(n=2)
    samples[0].update(no_target=True, ann_id=[-1])
    samples[1].update(no_target=False, ann_id=[3, 4])
    header, records = load_results(_write(tmp_path, samples))
    assert [r['no_target'] for r in records] == [True, False]
    assert records[1]['ann_id'] == [3, 4] and 'N-acc' in header['metrics']


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match='not a pickle'):
        RISResultsWriter(str(tmp_path / 'results.pkl'))
    with pytest.raises(FileNotFoundError, match='no such results file'):
        load_results(str(tmp_path / 'none.jsonl'))
    other = tmp_path / 'other.jsonl'
    other.write_text('{"a": 1}\n')
    with pytest.raises(ValueError, match='not an mmris-ris-results file'):
        load_results(str(other))
    binary = tmp_path / 'pickled.jsonl'
    binary.write_bytes(b'\x80\x04\x95')
    with pytest.raises(ValueError, match='line 1 is not JSON'):
        load_results(str(binary))
    path = _write(tmp_path, _samples(n=3), 'cut.jsonl.gz')
    with gzip.open(path, 'rt') as f:
        lines = f.readlines()
    with gzip.open(path, 'wt') as f:
        f.writelines(lines[:-1])
    with pytest.raises(ValueError, match='announces 3 records but the file holds 2'):
        load_results(path)
    newer = tmp_path / 'newer.jsonl'
    newer.write_text('{"format": "mmris-ris-results", "version": 99}\n')
    with pytest.raises(ValueError, match='version 99'):
        load_results(str(newer))


def test_add_results_writer_counts_like_the_evaluator():
    metric = dict(type='ReferMetric', resolution='input', output_dir='x')
    for evaluator in (metric, [metric], dict(type='Evaluator', metrics=[metric])):
        new = add_results_writer(evaluator, 'r.jsonl', True, dict(config='c.py'))
        metrics = new['metrics'] if isinstance(new, dict) else new
        assert metrics[0] == metric and len(metrics) == 2
        writer = metrics[1]
        assert writer['type'] == 'RISResultsWriter' and writer['with_logits'] is True
        assert writer['scorer'] == metric and writer['header'] == dict(config='c.py')
    assert evaluator['metrics'] == [metric]  # the input is left as it was
    built = RISResultsWriter('r.jsonl', scorer=metric)
    assert built.scorer.resolution == 'input' and built.scorer.output_dir is None
    assert add_results_writer(None, 'r.jsonl')[0]['scorer'] == dict(type='ReferMetric')
