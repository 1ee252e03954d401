"""Synthetic batches of the speed tool for a model with a second image view (EVF-SAM)."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmris.datasets.toy import TOY_SPM_FILE, write_toy_spm
from mmris.datasets.transforms import ImageView
from mmris.utils import register_all_modules
from mmris.utils.bench_data import add_image_views, synthetic_batch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EVF_TOY = osp.join(ROOT, 'configs/evf_sam/evfsam_toy_1xb16-12e_toy-128.py')
CRIS_TOY = osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-10e_toy-128.py')

needs_evf = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ('torchscale', 'segment_anything',
                                                   'sentencepiece')),
    reason='EVF-SAM dependencies (extra evf_sam) not installed')


def test_image_view_from_the_pipeline():
    register_all_modules()
    pipeline = Config.fromfile(EVF_TOY).test_dataloader.dataset.pipeline
    batch = add_image_views(synthetic_batch(2, (128, 128), seed=3), pipeline)
    for img, sample in zip(batch['inputs'], batch['data_samples']):
        want = ImageView(scale=(64, 64)).transform(dict(img=img.permute(1, 2, 0).numpy()))
        assert sample.img_view.shape == (3, 64, 64)
        torch.testing.assert_close(sample.img_view,
                                   torch.from_numpy(want['img_view']).permute(2, 0, 1))
    # a pipeline without ImageView leaves the samples as they were
    plain = add_image_views(synthetic_batch(1, (128, 128)),
                            Config.fromfile(CRIS_TOY).test_dataloader.dataset.pipeline)
    assert 'img_view' not in plain['data_samples'][0]


@needs_evf
def test_benchmark_runs_evf_sam(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'benchmark', osp.join(ROOT, 'tools/analysis_tools/benchmark.py'))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    spm = write_toy_spm(str(tmp_path / TOY_SPM_FILE))
    out = str(tmp_path / 'bench.jsonl')
    res = bench.main([EVF_TOY, '--synthetic', '--batch-size', '2', '--num-warmup', '1',
                      '--num-iters', '1', '--repeat', '1', '--threads', '1', '--out', out,
                      '--sentences-per-image', '2',
                      '--cfg-options', f'model.text_encoder.tokenizer={spm}'])
    assert res['images_per_s'] > 0 and res['source'] == 'synthetic'
    with open(out) as f:
        assert json.loads(f.readline())['config'] == EVF_TOY


def test_sentences_per_image():
    batch = synthetic_batch(5, (32, 32), seed=1, per_image=2)
    imgs = batch['inputs']
    assert torch.equal(imgs[0], imgs[1]) and torch.equal(imgs[2], imgs[3])
    assert not torch.equal(imgs[1], imgs[2]) and not torch.equal(imgs[3], imgs[4])
    texts = [s.metainfo['text'] for s in batch['data_samples']]
    assert texts[0] != texts[1]  # one sentence each
