"""MMNet: shapes, loss, ablation switches, the ViT path, predict at the original size."""
import copy
import glob
import os.path as osp

import pytest
import torch

from mmris.registry import MODELS
from .helpers import make_sample, model_cfg

TEXTS = ['red circle on the left', 'blue square', 'the small green triangle at the top', '']
CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')


def inputs_and_samples(n=2, hw=(128, 128)):
    """Random images and samples with one box each (shared with the EAVL tests)."""
    torch.manual_seed(0)
    gts = torch.zeros(n, 1, *hw, dtype=torch.long)
    for i in range(n):
        gts[i, :, 10 * i:10 * i + 40, 20:60 + 10 * i] = 1
    samples = [make_sample(TEXTS[i % len(TEXTS)], img_shape=hw, gt=gts[i]) for i in range(n)]
    return torch.randn(n, 3, *hw), samples


def check_modes(model, n=2):
    """Loss keys and values, tensor-mode logits at stride 4, predict at ori_shape."""
    inputs, samples = inputs_and_samples(n)
    model.train()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'decode.loss_ce', 'decode.iou_seg'}
    assert torch.isfinite(losses['decode.loss_ce'])
    losses['decode.loss_ce'].backward()
    model.eval()
    with torch.no_grad():
        assert model(inputs, samples, mode='tensor').shape == (n, 1, 32, 32)
        # letterboxed: 96 x 128 content padded 16 / 16 rows, mapped back to 96 x 128
        for s in samples:
            s.set_metainfo(dict(pad_param=[16., 16., 0., 0.]))
        preds = model(inputs, copy.deepcopy(samples), mode='predict')
    for p in preds:
        assert p.pred_sem_seg.data.shape == (1, 96, 128)
        assert set(p.pred_sem_seg.data.unique().tolist()) <= {0, 1}
    return losses


def build(cfg):
    torch.manual_seed(0)
    return MODELS.build(cfg)


def loss_history(model, steps=6):
    """Losses of ``steps`` Adam steps on one fixed batch of 4."""
    model.train()
    inputs, samples = inputs_and_samples(4)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for _ in range(steps):
        loss = model(inputs, samples, mode='loss')['decode.loss_ce']
        optim.zero_grad()
        loss.backward()
        optim.step()
        history.append(loss.item())
    return history


@pytest.fixture(scope='module')
def mmnet_cfg():
    return model_cfg('mmnet_tiny')


def test_mmnet_modes_and_parts(mmnet_cfg):
    model = build(mmnet_cfg)
    head = model.decode_head
    assert head.query_generator.num_queries == 24  # the paper's default
    assert head.query_generator.visual_neck is not None
    check_modes(model)
    # every part of the head gets a gradient
    for name in ('query_generator.query_maps', 'query_generator.global_proj',
                 'query_generator.visual_neck', 'decoder', 'aligner.projector',
                 'aligner.estimator'):
        grads = [p.grad for k, p in head.named_parameters() if k.startswith(name)]
        assert grads and all(g is not None for g in grads), name


def test_mmnet_decoder_attends_to_queries(mmnet_cfg):
    """Pixels cross-attend to the N_q queries (eq. 13), not to the words."""
    model = build(mmnet_cfg).eval()
    seen = {}
    layer = model.decode_head.decoder.layers[0].cross_attn
    layer.register_forward_hook(lambda m, args, out: seen.update(kv=args[2].shape))
    inputs, samples = inputs_and_samples()
    with torch.no_grad():
        model(inputs, samples, mode='tensor')
    assert seen['kv'] == (2, 24, 128)


def test_mmnet_loss_falls(mmnet_cfg):
    history = loss_history(build(mmnet_cfg))
    assert history[-1] < 0.7 * history[0], history


@pytest.mark.parametrize('switch', ['multi_mask', 'use_estimator', 'global_dim', 'num_queries'])
def test_mmnet_ablation_switches(mmnet_cfg, switch):
    cfg = copy.deepcopy(mmnet_cfg)
    head_cfg = cfg['decode_head']
    if switch == 'global_dim':
        head_cfg['query_generator']['global_dim'] = None
    elif switch == 'num_queries':
        head_cfg['query_generator']['num_queries'] = 1
    else:
        head_cfg['aligner'] = {switch: False}
    model = build(cfg)
    losses = check_modes(model)
    assert losses['decode.loss_ce'].requires_grad
    head = model.decode_head
    if switch == 'multi_mask':  # one kernel, made from the score-weighted query
        seen = {}
        head.aligner.projector.register_forward_hook(
            lambda m, args, out: seen.update(q=args[1].shape, out=out.shape))
        with torch.no_grad():
            model(*inputs_and_samples(), mode='tensor')
        assert seen == dict(q=(2, 128), out=(2, 1, 32, 32))
    elif switch == 'use_estimator':
        assert head.aligner.estimator is None
    elif switch == 'global_dim':
        assert not hasattr(head.query_generator, 'global_proj')
    else:
        assert head.query_generator.query_maps[-1].out_channels == 1


def test_mmnet_vit_path():
    """A tiny CLIP ViT: class token as the global feature, three convs make the levels."""
    cfg = model_cfg('mmnet_tiny')
    cfg['backbone'].update(
        arch=dict(layers=2, width=64, heads=4, patch_size=16, output_dim=128),
        out_indices=(1, ), vit_levels=(128, 256, 128))
    model = build(cfg)
    assert model.backbone.is_vit and len(model.backbone.levels) == 3
    check_modes(model)


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(CONFIGS, 'mmnet', '*.py')) + glob.glob(osp.join(CONFIGS, 'eavl', '*.py'))))
def test_configs_build(path):
    """Every MMNet / EAVL config builds (on the meta device: no memory, no weights)."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    size = tuple(cfg.model.data_preprocessor['size'])
    scales = [t['scale'] for t in cfg.train_dataloader.dataset.pipeline if 'scale' in t]
    assert scales == [size[::-1]]
    gen = model.decode_head.query_generator
    assert gen.grid_size == (size[0] // 16, size[1] // 16) or 'vit-l14' in path
    if 'refcocog' in path:
        assert model.text_encoder.word_len == 22
