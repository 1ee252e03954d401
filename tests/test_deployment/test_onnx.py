"""ONNX export of every model family's toy config, run by onnxruntime: the logits match
PyTorch's (batch size other than the traced one), and the inferencer's onnxruntime backend
gives the PyTorch masks."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmris.registry import MODELS
from mmris.utils import register_all_modules

onnx = pytest.importorskip('onnx', reason='ONNX tests need `onnx` (extra "tests")')
ort = pytest.importorskip('onnxruntime', reason='ONNX tests need `onnxruntime` (extra "tests")')

from mmris.deployment import (DEFAULT_OPSET, ORTSegmentor, RISTensorModel,  # noqa: E402
                              example_inputs, export_onnx, predict_with, tokenize)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOY_CONFIGS = {
    'cris': 'configs/cris/cris_tiny_1xb16-10e_toy-128.py',
    'eavl': 'configs/eavl/eavl_tiny_1xb16-10e_toy-128.py',
    'mmnet': 'configs/mmnet/mmnet_tiny_1xb16-8e_toy-128.py',
    'lavt': 'configs/lavt/lavt_toy_1xb16-8e_toy-128.py',
    'coupalign': 'configs/coupalign/coupalign_toy_1xb16-7e_toy-128.py',
    'magnet': 'configs/magnet/magnet_toy_1xb16-6e_toy-128.py',
}
TOL = 1e-3  # fp32 logits of random tiny models are O(1)


@pytest.fixture(scope='module')
def bert_dir(tmp_path_factory) -> str:
    from mmris.datasets.toy import write_toy_bert
    return write_toy_bert(str(tmp_path_factory.mktemp('bert') / 'bert-tiny'))


def build(family: str, bert_dir: str) -> torch.nn.Module:
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, TOY_CONFIGS[family]))
    if cfg.model.text_encoder.type == 'BERTTextEncoder':
        pytest.importorskip('transformers')
        cfg.model.text_encoder.pretrained = bert_dir
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


@pytest.mark.parametrize('family', list(TOY_CONFIGS))
def test_export_and_parity(family, bert_dir, tmp_path, monkeypatch):
    model = build(family, bert_dir)
    if family == 'magnet':  # the deformable attention must trace its PyTorch function
        from mmcv.ops import multi_scale_deform_attn as msda

        def compiled_op(*args, **kwargs):
            raise AssertionError('the compiled MultiScaleDeformableAttnFunction was called')
        monkeypatch.setattr(msda.MultiScaleDeformableAttnFunction, 'apply', compiled_op)
    out = str(tmp_path / f'{family}.onnx')
    names = export_onnx(model, out, metadata=dict(config=osp.basename(TOY_CONFIGS[family])))
    bert = family == 'magnet'
    assert names == (['img', 'tokens', 'pad_mask'] if bert else ['img', 'tokens'])

    proto = onnx.load(out)
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == DEFAULT_OPSET
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['mmris_input_size'] == '128,128'
    ops = {n.op_type for n in proto.graph.node}
    assert not any(n.domain not in ('', 'ai.onnx') for n in proto.graph.node), 'custom ops'
    if family == 'magnet':
        assert 'GridSample' in ops  # multi_scale_deformable_attn_pytorch

    # batch 3 (traced with 2), other sentences: the batch axis and the tokens are inputs
    inputs = example_inputs(model, batch_size=3,
                            texts=('the big red circle', 'a triangle', 'the left one'))
    with torch.no_grad():
        ref = RISTensorModel(model)(*inputs)
        samples = [_sample(t) for t in ('the big red circle', 'a triangle', 'the left one')]
        # the wrapper is the segmentor's tensor mode with tokens for sentences
        torch.testing.assert_close(ref, model(inputs[0], samples, mode='tensor'))
    got = ORTSegmentor(out)(*inputs)
    assert got.shape == ref.shape and ref.shape[:2] == (3, 1)
    diff = (got - ref).abs().max().item()
    assert diff < TOL, f'{family}: max abs logit difference {diff}'
    assert ref.std() > 1e-3  # the comparison is not between constants


def _sample(text: str):
    from mmseg.structures import SegDataSample
    return SegDataSample(metainfo=dict(text=text, img_shape=(128, 128), ori_shape=(128, 128)))


def test_predict_with_is_test_step(bert_dir):
    """The shared path (preprocessor, tokenizer, post-processing) with the PyTorch network
    gives test_step's predictions."""
    from mmris.utils.bench_data import synthetic_batch
    model = build('cris', bert_dir)
    batch = synthetic_batch(2, (128, 128), (96, 160), seed=0)
    with torch.no_grad():
        ref = model.test_step(batch)
        got = predict_with(model, RISTensorModel(model), synthetic_batch(2, (128, 128),
                                                                         (96, 160), seed=0))
    for a, b in zip(ref, got):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    tokens, pad = tokenize(model, ['a dog'])
    assert tokens.dtype == torch.long and pad is None
