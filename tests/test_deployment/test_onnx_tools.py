"""tools/deployment/pytorch2onnx.py, RISInferencer(backend='onnxruntime') and the backends
of tools/analysis_tools/benchmark.py (functional only: no timing is asserted)."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

pytest.importorskip('onnx', reason='ONNX tests need `onnx` (extra "tests")')
pytest.importorskip('onnxruntime', reason='ONNX tests need `onnxruntime` (extra "tests")')

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_CONFIG = osp.join(ROOT, 'configs', 'cris', 'cris_tiny_1xb16-10e_toy-128.py')
LAVT_TOY = osp.join(ROOT, 'configs', 'lavt', 'lavt_toy_1xb16-8e_toy-128.py')
IMAGE = osp.join(ROOT, 'demo', 'demo.png')


def load_tool(*parts):
    path = osp.join(ROOT, 'tools', *parts)
    spec = importlib.util.spec_from_file_location(osp.splitext(parts[-1])[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    from mmris.registry import MODELS
    from mmris.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(1)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny_cris.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def exported(checkpoint, tmp_path_factory) -> dict:
    out = str(tmp_path_factory.mktemp('onnx') / 'tiny_cris.onnx')
    int8 = out.replace('.onnx', '_int8.onnx')
    result = load_tool('deployment', 'pytorch2onnx.py').main(
        [TINY_CONFIG, checkpoint, '--out', out, '--verify', '--int8', int8])
    return dict(result, int8=int8)


def test_pytorch2onnx(exported, checkpoint):
    from mmris.apis import RISInferencer
    from mmris.deployment import ORTSegmentor, example_inputs
    assert exported['inputs'] == ['img', 'tokens']
    assert exported['max_abs_diff'] < 1e-3
    assert osp.getsize(exported['int8']) < osp.getsize(exported['out'])
    meta = ORTSegmentor(exported['out']).metadata
    assert meta['config'] == 'cris_tiny_1xb16-10e_toy-128.py' and meta['opset'] == '17'
    # int8: lossy, but the logits stay close to fp32's
    model = RISInferencer(TINY_CONFIG, weights=checkpoint, device='cpu').model
    inputs = example_inputs(model, batch_size=2)
    a, b = ORTSegmentor(exported['out'])(*inputs), ORTSegmentor(exported['int8'])(*inputs)
    assert a.shape == b.shape and torch.isfinite(b).all()
    corr = np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1]
    assert corr > 0.9, corr


def test_inferencer_onnxruntime_backend(exported, checkpoint):
    from mmris.apis import RISInferencer
    torch_inf = RISInferencer(TINY_CONFIG, weights=checkpoint, device='cpu',
                              show_progress=False)
    ort_inf = RISInferencer(TINY_CONFIG, device='cpu', show_progress=False,
                            backend='onnxruntime', onnx_file=exported['out'])
    rng = np.random.default_rng(0)
    imgs = [IMAGE, rng.integers(0, 255, (50, 40), dtype=np.uint8),
            rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)]
    texts = [['the yellow triangle', 'the red ball'], 'the thing', 'a dog']
    for batch_size in (1, 3):  # dynamic batch
        ref = torch_inf(imgs, texts, batch_size=batch_size)['predictions']
        got = ort_inf(imgs, texts, batch_size=batch_size)['predictions']
        assert len(got) == len(ref) == 4
        for a, b in zip(ref, got):
            assert a['mask'].shape == b['mask'].shape
            # masks equal up to the pixels whose probability sits on the threshold
            assert np.mean(a['mask'] != b['mask']) < 1e-3
            assert a['score'] == pytest.approx(b['score'], abs=1e-4)
            assert a['text'] == b['text']


def test_inferencer_backend_errors(exported, tmp_path):
    from mmris.apis import RISInferencer
    with pytest.raises(ValueError, match='backend must be'):
        RISInferencer(TINY_CONFIG, backend='tensorrt')
    with pytest.raises(ValueError, match='give onnx_file'):
        RISInferencer(TINY_CONFIG, backend='onnxruntime')
    with pytest.raises(FileNotFoundError, match='no such ONNX file'):
        RISInferencer(TINY_CONFIG, backend='onnxruntime', onnx_file=str(tmp_path / 'x.onnx'))
    with pytest.raises(ValueError, match="fuse_conv_bn=True is for backend='pytorch'"):
        RISInferencer(TINY_CONFIG, backend='onnxruntime', onnx_file=exported['out'],
                      fuse_conv_bn=True)
    # the graph of a 128 x 128 config under a config of another input size
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.data_preprocessor.size = (96, 96)
    with pytest.raises(ValueError, match=r'exported with input_size 128,128.*96,96'):
        RISInferencer(cfg, backend='onnxruntime', onnx_file=exported['out'])


@pytest.mark.parametrize('options', [
    ['--backend', 'onnxruntime'],
    ['--backend', 'onnxruntime-int8'],
    ['--channels-last', '--bf16'],
    ['--compile', '--compile-backend', 'eager'],
    ['--fuse-conv-bn'],
])
def test_benchmark_backends(options, exported):
    bench = load_tool('analysis_tools', 'benchmark.py')
    if options[:2] == ['--backend', 'onnxruntime']:
        options = options + ['--onnx', exported['out']]
    result = bench.main([TINY_CONFIG, '--synthetic', '--num-warmup', '1', '--num-iters', '1',
                         '--repeat', '1', '--batch-size', '2', '--device', 'cpu',
                         '--threads', '1'] + options)
    assert result['images_per_s'] > 0
    assert result['backend'] == (options[1] if options[0] == '--backend' else 'pytorch')


def test_benchmark_rejects_mixed_options():
    bench = load_tool('analysis_tools', 'benchmark.py')
    with pytest.raises(SystemExit):
        bench.parse_args([TINY_CONFIG, '--backend', 'onnxruntime', '--compile'])
    with pytest.raises(SystemExit):
        bench.parse_args([TINY_CONFIG, '--onnx', 'x.onnx'])
