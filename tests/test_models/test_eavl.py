"""EAVL: its head on the CRIS parts, and the aligner dropped into a CRIS config."""
import os.path as osp

import torch
from mmengine.config import Config

from mmris.models.heads import CRISHead, EAVLHead
from mmris.registry import MODELS
from .helpers import model_cfg
from .test_mmnet import CONFIGS, build, check_modes, inputs_and_samples, loss_history


def _toy_model_cfg(name: str, variant: str = '') -> dict:
    path = osp.join(CONFIGS, 'eavl', f'{name}_1xb16-10e_toy-128{variant}.py')
    return Config.fromfile(path).model.to_dict()


def _plug_in_cfg() -> dict:
    """The toy CRIS + aligner config's model: cris_tiny with another decode_head."""
    return _toy_model_cfg('cris_tiny', '-eavl-aligner')


def test_eavl_modes_and_query_decoder():
    cfg = _toy_model_cfg('eavl_tiny')
    model = build(cfg)
    head = model.decode_head
    assert isinstance(head, EAVLHead) and len(head.query_decoder) == 1
    check_modes(model)
    assert all(p.grad is not None for p in head.query_decoder.parameters())
    # the kernels come from the decoded queries: without the query decoder they differ
    cfg['decode_head']['query_decoder_layers'] = 0
    plain = build(cfg).eval()
    assert len(plain.decode_head.query_decoder) == 0
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    assert not missing and all(k.startswith('decode_head.query_') for k in unexpected)
    inputs, samples = inputs_and_samples()
    with torch.no_grad():
        assert not torch.allclose(plain(inputs, samples, mode='tensor'),
                                  model.eval()(inputs, samples, mode='tensor'), atol=1e-4)


def test_aligner_replaces_cris_projector():
    """Same encoders, neck and decoder as CRIS; only the projector differs."""
    cris_cfg, plug_cfg = model_cfg('cris_tiny'), _plug_in_cfg()
    assert {k: v for k, v in plug_cfg.items() if k != 'decode_head'} == \
        {k: v for k, v in cris_cfg.items() if k != 'decode_head'}
    cris, model = build(cris_cfg), build(plug_cfg)
    assert isinstance(cris.decode_head, CRISHead)
    gen = model.decode_head.query_generator
    assert gen.visual_neck is None and not gen.use_global  # works on the neck output
    # a trained CRIS loads as it is, apart from its projector
    missing, unexpected = model.load_state_dict(cris.state_dict(), strict=False)
    assert all(k.startswith('decode_head.projector.') for k in unexpected)
    assert not [k for k in missing if not k.startswith(
        ('decode_head.query_', 'decode_head.aligner.'))]
    check_modes(model)


def test_aligner_plug_in_learns():
    history = loss_history(build(_plug_in_cfg()))
    assert history[-1] < 0.7 * history[0], history
