"""The converter of released MagNet checkpoints, on a state dict with the official key names
and shapes (yxchng/mask-grounding: ``lib/backbone.py``, ``bert/multimodal_bert.py``,
``modeling/``, ``test.py``'s ``WrapperModel``) built here for a tiny model."""
import copy
import importlib.util
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F

from mmris.registry import MODELS
from .helpers import make_sample, model_cfg

transformers = pytest.importorskip('transformers')
from .test_bert_text_encoder import write_tiny_bert  # noqa: E402
from .test_converter import _ln, _mha  # noqa: E402
from .test_layers import detr_sine_pos  # noqa: E402
from .test_lavt import LAVT_TINY, lavt_state_dict, lavt_training_state  # noqa: E402

ROOT = osp.join(osp.dirname(__file__), '..', '..')
TOOL = osp.join(ROOT, 'tools', 'model_converters', 'magnet2mmris.py')
# Swin of LAVT_TINY (widths 16 .. 128), BERT 32 wide in 4 layers (one per stage), a 32-wide
# decoder (GroupNorm(32)): 1 pixel decoder layer (FFN 48), 2 query decoder layers (FFN 64),
# 4 heads, 4 points
DIMS = [LAVT_TINY['embed_dim'] * 2**i for i in range(4)]
L, E, HEADS, POINTS, PIXEL_LAYERS, QUERY_LAYERS, PIXEL_FFN, FFN = 32, 32, 4, 4, 1, 2, 48, 64


def _converter():
    spec = importlib.util.spec_from_file_location('magnet2mmris', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lin(prefix, o, i, bias=True, kernel_dims=0):
    """Linear (kernel_dims=0) or 1x1 Conv1d (1) / Conv2d (2) weight shapes."""
    s = {f'{prefix}.weight': (o, i) + (1, ) * kernel_dims}
    if bias:
        s[f'{prefix}.bias'] = (o, )
    return s


def _image_pwam(p, c):
    """lib/backbone.py ``PWAM(c, c, 768, c, c)``: Conv1d vis / key / value / mm projections,
    Linear + LayerNorm query and output."""
    a = f'{p}.image_lang_att'
    return {**_lin(f'{p}.vis_project.0', c, c, kernel_dims=1),
            **_lin(f'{a}.f_key.0', c, L, kernel_dims=1),
            **_lin(f'{a}.f_query.0', c, c), **_ln(f'{a}.f_query.1', c),
            **_lin(f'{a}.f_value.0', c, L, kernel_dims=1),
            **_lin(f'{a}.W.0', c, c), **_ln(f'{a}.W.1', c),
            **_lin(f'{p}.project_mm.0', c, c, kernel_dims=1)}


def _text_pwam(p, c):
    """bert/multimodal_bert.py ``PWAM(768, c, 768, 768, 768)``: Linear vis projection, Conv1d
    query / key / value / output / mm projections (the instance norms have no weights)."""
    a = f'{p}.image_lang_att'
    return {**_lin(f'{p}.vis_project.0', L, L), **_lin(f'{a}.f_query.0', L, L, kernel_dims=1),
            **_lin(f'{a}.f_key.0', L, c, kernel_dims=1),
            **_lin(f'{a}.f_value.0', L, c, kernel_dims=1),
            **_lin(f'{a}.W.0', L, L, kernel_dims=1),
            **_lin(f'{p}.project_mm.0', L, L, kernel_dims=1)}


def official_shapes(bert_dir):
    """Key -> shape of the official MagNet (without the Swin blocks, which come from
    :func:`lavt_state_dict`)."""
    s = {}
    for i, c in enumerate(DIMS):  # MMBasicLayer of lib/backbone.py
        p, red = f'image_model.layers.{i}', c // 4
        s.update({**_image_pwam(f'{p}.fusion', c), **_lin(f'{p}.res_gate.0', c, c, False),
                  **_lin(f'{p}.res_gate.2', c, c, False), **_lin(f'{p}.mixer.0', c, 2 * c),
                  **_ln(f'{p}.mixer.1', c), **_lin(f'{p}.mixer.2', c, c)})
        for j in range(4):  # psizes 1, 2, 3, 6
            q = f'{p}.pyramids.{j}'
            s.update({**_lin(f'{q}.1', 4 * c, c, False, 2), **_ln(f'{q}.2', 4 * c),
                      **_lin(f'{q}.3', c, 4 * c, False, 2), **_lin(f'{q}.5', red, c, False, 2),
                      **_image_pwam(f'{p}.fusions.{j}', red)})
        p = 'language_model'  # MultiModalBert: one pwam / res_gate / norm per stage
        s.update({**_text_pwam(f'{p}.pwams.{i}', c), **_lin(f'{p}.res_gates.{i}.0', L, L, False),
                  **_lin(f'{p}.res_gates.{i}.2', L, L, False), **_ln(f'{p}.norms.{i}', L)})
    bert = transformers.BertModel.from_pretrained(bert_dir)  # with its pooler
    s.update({f'language_model.{k}': tuple(v.shape) for k, v in bert.state_dict().items()})
    p = 'classifier.pixel_decoder'  # input_proj and levels coarse to fine
    for k, c in enumerate(reversed(DIMS)):
        s.update({**_lin(f'{p}.input_proj.{k}.0', E, c, kernel_dims=2),
                  **_ln(f'{p}.input_proj.{k}.1', E)})
    s[f'{p}.transformer.level_embed'] = (4, E)
    for n in range(PIXEL_LAYERS):
        q = f'{p}.transformer.encoder.layers.{n}'
        s.update({**_lin(f'{q}.self_attn.sampling_offsets', HEADS * 4 * POINTS * 2, E),
                  **_lin(f'{q}.self_attn.attention_weights', HEADS * 4 * POINTS, E),
                  **_lin(f'{q}.self_attn.value_proj', E, E),
                  **_lin(f'{q}.self_attn.output_proj', E, E), **_ln(f'{q}.norm1', E),
                  **_lin(f'{q}.linear1', PIXEL_FFN, E),
                  **_lin(f'{q}.linear2', E, PIXEL_FFN), **_ln(f'{q}.norm2', E)})
    s.update(_lin(f'{p}.mask_features', E, E, kernel_dims=2))
    p = 'classifier.predictor'
    for n in range(QUERY_LAYERS):
        s.update({**_mha(f'{p}.transformer_self_attention_layers.{n}.self_attn', E),
                  **_ln(f'{p}.transformer_self_attention_layers.{n}.norm', E),
                  **_mha(f'{p}.transformer_cross_attention_layers.{n}.multihead_attn', E),
                  **_ln(f'{p}.transformer_cross_attention_layers.{n}.norm', E),
                  **_lin(f'{p}.transformer_ffn_layers.{n}.linear1', FFN, E),
                  **_lin(f'{p}.transformer_ffn_layers.{n}.linear2', E, FFN),
                  **_ln(f'{p}.transformer_ffn_layers.{n}.norm', E)})
    s.update({**_ln(f'{p}.decoder_norm', E), f'{p}.query_feat.weight': (1, E),
              f'{p}.query_embed.weight': (1, E), f'{p}.level_embed.weight': (3, E),
              **_lin(f'{p}.class_embed', 2, E), **_lin('lang_proj', E, L)})
    for n in range(3):
        s.update(_lin(f'{p}.mask_embed.layers.{n}', E, E))
    return s


def magnet_state_dict(bert_dir):
    """Random values under the official names: ``WrapperModel.state_dict()``."""
    g = torch.Generator().manual_seed(1)
    lavt = lavt_state_dict(**LAVT_TINY)  # its Swin keys are MagNet's too
    swin = {'image_model.' + k[len('backbone.'):]: v for k, v in lavt.items()
            if k.startswith('backbone.') and '.fusion.' not in k and '.res_gate.' not in k}
    return {**swin, **{k: torch.randn(shape, generator=g)
                       for k, shape in official_shapes(bert_dir).items()}}


def _model_cfg(bert_dir):
    cfg = model_cfg('magnet_swin-b')
    e, d, h, w = (LAVT_TINY[k] for k in ('embed_dim', 'depths', 'heads', 'window'))
    cfg['data_preprocessor']['size'] = (64, 64)
    cfg['backbone'].update(embed_dims=e, depths=d, num_heads=h, window_size=w,
                           pretrain_img_size=64, text_dims=L, pretrained=None,
                           text_stages=(1, 2, 3, 4))
    cfg['text_encoder'].update(pretrained=bert_dir, word_len=8, load_weights=False)
    cfg['decode_head'].update(in_channels=DIMS, sentence_dims=L, embed_dims=E,
                              pixel_layers=PIXEL_LAYERS, num_layers=QUERY_LAYERS,
                              num_heads=HEADS, feedforward_channels=FFN,
                              pixel_feedforward_channels=PIXEL_FFN)
    cfg['auxiliary_head'].update(in_channels=DIMS[-1], text_dims=L, embed_dims=E, num_layers=1,
                                 num_heads=HEADS, feedforward_channels=FFN)
    return cfg


def official_image_pwam(o, p, x, words, keep):
    """lib/backbone.py's image-side ``PWAM`` (1 head) with the official tensors under ``p``:
    1x1 Conv1d visual / key / value / mm projections, Linear + LayerNorm query and output
    projections, keys and values multiplied by the word mask and ``1e4 * mask - 1e4`` added
    to the scores. x: B, HW, C; words: B, L, D; keep: B, L (1 = word) -> B, HW, C."""
    a, C = p + 'image_lang_att.', x.shape[-1]

    def conv(t, name):  # B, C_in, N -> B, C_out, N
        return F.conv1d(t, o[name + '.weight'], o[name + '.bias'])

    def linear_ln(t, name):  # Linear + LayerNorm, B, N, C
        t = F.linear(t, o[name + '.0.weight'], o[name + '.0.bias'])
        return F.layer_norm(t, (C, ), o[name + '.1.weight'], o[name + '.1.bias'])

    vis = F.gelu(conv(x.transpose(1, 2), p + 'vis_project.0'))  # B, C, HW
    m = keep[:, None, :].float()  # B, 1, L
    q = linear_ln(x, a + 'f_query')  # B, HW, C
    k, v = conv(words.transpose(1, 2), a + 'f_key.0') * m, conv(words.transpose(1, 2),
                                                                 a + 'f_value.0') * m
    sim = (q @ k) * C**-.5 + (1e4 * m - 1e4)  # B, HW, L
    out = linear_ln(sim.softmax(-1) @ v.transpose(1, 2), a + 'W')  # B, HW, C
    return F.gelu(conv(vis * out.transpose(1, 2), p + 'project_mm.0')).transpose(1, 2)


def _load(conv, model, state):
    """Strict load of a converted state dict plus the model's own training-only parts,
    after checking that exactly those are what the converted dict lacks."""
    own = model.state_dict()
    extra = {k: v for k, v in own.items() if k.startswith(conv.MMRIS_TRAINING_ONLY)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert extra and set(missing) == set(extra), set(missing) ^ set(extra)
    model.load_state_dict({**state, **extra}, strict=True)  # every other key, every shape


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    bert_dir = write_tiny_bert(tmp_path_factory.mktemp('magnet_bert'), num_layers=4)
    return _converter(), bert_dir, magnet_state_dict(bert_dir)


def test_magnet_converter(setup):
    conv, bert_dir, official = setup
    state, not_loaded = conv.convert_magnet(dict(model=official, epoch=3))
    model = MODELS.build(_model_cfg(bert_dir))
    _load(conv, model, state)

    # reported: lang_proj, the text-side norms and BERT's pooler (training only) ...
    stages = range(4)
    assert sorted(not_loaded['training_only']) == sorted(
        ['lang_proj.weight', 'lang_proj.bias', 'language_model.pooler.dense.weight',
         'language_model.pooler.dense.bias'] +
        [f'language_model.norms.{i}.{p}' for i in stages for p in ('weight', 'bias')])
    # ... and Swin's output norms, which the official graph never applies
    assert sorted(not_loaded['unused']) == sorted(
        f'image_model.norm{i}.{p}' for i in stages for p in ('weight', 'bias'))
    # every other official tensor is loaded, none twice
    reported = len(not_loaded['training_only']) + len(not_loaded['unused'])
    assert len(state) == len(official) - reported

    sd = model.state_dict()
    o = official
    pairs = {  # mmris key: official tensor as mmris holds it
        'backbone.stages.1.blocks.1.attn.w_msa.qkv.weight':
        o['image_model.layers.1.blocks.1.attn.qkv.weight'],
        'backbone.fusions.1.pwam.vis_project.0.weight':
        o['image_model.layers.1.fusion.vis_project.0.weight'][..., 0],
        'backbone.fusions.1.pwam.attn.query.weight':
        o['image_model.layers.1.fusion.image_lang_att.f_query.0.weight'],
        'backbone.fusions.3.pwam.attn.out.bias':
        o['image_model.layers.3.fusion.image_lang_att.W.0.bias'],
        'backbone.fusions.1.pwam.attn.query_norm.weight':
        o['image_model.layers.1.fusion.image_lang_att.f_query.1.weight'],
        'backbone.fusions.2.pool_fusions.0.attn.out_norm.bias':
        o['image_model.layers.2.fusions.0.image_lang_att.W.1.bias'],
        'backbone.fusions.2.pool_fusions.3.attn.key.weight':
        o['image_model.layers.2.fusions.3.image_lang_att.f_key.0.weight'][..., 0],
        'backbone.fusions.2.pyramids.1.2.weight':
        o['image_model.layers.2.pyramids.1.3.weight'][:, :, 0, 0],
        'backbone.fusions.2.pyramids.1.4.weight':
        o['image_model.layers.2.pyramids.1.5.weight'][:, :, 0, 0],
        'backbone.fusions.0.pyramids.3.1.bias': o['image_model.layers.0.pyramids.3.2.bias'],
        'backbone.fusions.3.gate.layers.2.weight': o['image_model.layers.3.res_gate.2.weight'],
        'backbone.fusions.0.mixer.0.weight': o['image_model.layers.0.mixer.0.weight'],
        'backbone.fusions.2.word_vis.0.weight': o['language_model.pwams.2.vis_project.0.weight'],
        'backbone.fusions.2.word_attn.key.weight':
        o['language_model.pwams.2.image_lang_att.f_key.0.weight'][..., 0],
        'backbone.fusions.1.word_attn.out.weight':
        o['language_model.pwams.1.image_lang_att.W.0.weight'][..., 0],
        'backbone.fusions.3.word_mm.0.bias': o['language_model.pwams.3.project_mm.0.bias'],
        'backbone.fusions.1.word_gate.layers.0.weight': o['language_model.res_gates.1.0.weight'],
        'text_encoder.bert.encoder.layer.3.output.dense.weight':
        o['language_model.encoder.layer.3.output.dense.weight'],
        'decode_head.pixel_decoder.input_proj.0.0.weight':  # the stride-4 map
        o['classifier.pixel_decoder.input_proj.3.0.weight'],
        'decode_head.pixel_decoder.input_proj.3.1.bias':
        o['classifier.pixel_decoder.input_proj.0.1.bias'],
        'decode_head.pixel_decoder.level_embed':
        o['classifier.pixel_decoder.transformer.level_embed'].flip(0),
        'decode_head.pixel_decoder.layers.0.ffn.3.weight':
        o['classifier.pixel_decoder.transformer.encoder.layers.0.linear2.weight'],
        'decode_head.pixel_decoder.mask_features.weight':
        o['classifier.pixel_decoder.mask_features.weight'],
        'decode_head.query_decoder.layers.1.cross_attn.in_proj_weight':
        o['classifier.predictor.transformer_cross_attention_layers.1.multihead_attn.'
          'in_proj_weight'],
        'decode_head.query_decoder.layers.1.norms.0.weight':
        o['classifier.predictor.transformer_cross_attention_layers.1.norm.weight'],
        'decode_head.query_decoder.layers.0.norms.1.bias':
        o['classifier.predictor.transformer_self_attention_layers.0.norm.bias'],
        'decode_head.query_decoder.layers.0.ffn.0.weight':
        o['classifier.predictor.transformer_ffn_layers.0.linear1.weight'],
        'decode_head.query_decoder.layers.1.norms.2.weight':
        o['classifier.predictor.transformer_ffn_layers.1.norm.weight'],
        'decode_head.query_decoder.query_pos.weight': o['classifier.predictor.query_embed.weight'],
        'decode_head.query_decoder.level_embed.weight':
        o['classifier.predictor.level_embed.weight'],
        'decode_head.query_decoder.norm.weight': o['classifier.predictor.decoder_norm.weight'],
        'decode_head.query_decoder.mask_embed.4.bias':
        o['classifier.predictor.mask_embed.layers.2.bias'],
        'decode_head.class_embed.weight': o['classifier.predictor.class_embed.weight'],
    }
    for new, value in pairs.items():
        assert torch.equal(sd[new], value), new
    # the Swin patch merging (re-ordered by convert_official_swin) computes the official one
    x, m = torch.randn(1, 4, 4, DIMS[0]), 'image_model.layers.0.downsample.'
    cat = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    ref = F.linear(F.layer_norm(cat, (4 * DIMS[0], ), o[m + 'norm.weight'], o[m + 'norm.bias']),
                   o[m + 'reduction.weight'])
    with torch.no_grad():
        merged, _ = model.backbone.stages[0].downsample(x.flatten(1, 2), (4, 4))
    torch.testing.assert_close(merged, ref.flatten(1, 2))

    # the deformable attention with levels reversed: official order (coarse to fine) with the
    # official weights = mmris order (fine to coarse) with the converted ones
    attn = model.decode_head.pixel_decoder.layers[0].attn
    official_attn = copy.deepcopy(attn)
    p = 'classifier.pixel_decoder.transformer.encoder.layers.0.self_attn.'
    official_attn.load_state_dict({k: o[p + k] for k in official_attn.state_dict()})
    sizes = [(8, 8), (4, 4), (2, 2), (1, 1)]  # fine to coarse
    levels = [torch.randn(1, h * w, E) for h, w in sizes]

    def run(module, order):
        shapes = torch.tensor([sizes[i] for i in order])
        starts = torch.cat([shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]])
        x = torch.cat([levels[i] for i in order], 1)
        ref = model.decode_head.pixel_decoder.reference_points(shapes, 4)[None]
        out = module(x, value=x, reference_points=ref, spatial_shapes=shapes,
                     level_start_index=starts)
        return dict(zip(order, out.split(shapes.prod(1).tolist(), 1)))

    with torch.no_grad():
        ours, theirs = run(attn, [0, 1, 2, 3]), run(official_attn, [3, 2, 1, 0])
    for i in range(4):
        torch.testing.assert_close(ours[i], theirs[i])

    # the image-side PWAMs (LayerNorms included) compute the official ones, at full
    # resolution and on pooled grids (1 x 1: the LayerNorms keep a single pixel)
    model.eval()
    words = torch.randn(2, 6, L)
    keep = torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0]])
    for i, module, p, C, HW in ((1, 'pwam', 'fusion.', DIMS[1], 20),
                                (2, 'pool_fusions.0', 'fusions.0.', DIMS[2] // 4, 1),
                                (3, 'pool_fusions.3', 'fusions.3.', DIMS[3] // 4, 36)):
        x = torch.randn(2, HW, C)
        with torch.no_grad():
            ours = model.backbone.fusions[i].get_submodule(module)(x, words, keep == 0)
        ref = official_image_pwam(o, f'image_model.layers.{i}.{p}', x, words, keep)
        torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)

    # the converted model runs; record what the official graph fixes along the way
    dec, seen = model.decode_head, {}

    def record(name, pick):
        return lambda module, args, *out: seen.__setitem__(name, pick(args, *out))

    hooks = [f.register_forward_hook(record(f'fused{i}', lambda a, out: out[1]))
             for i, f in enumerate(model.backbone.fusions)]
    for module, name, pick in (
            (model.backbone, 'maps', lambda a, out: out[0]),
            (dec.pixel_decoder, 'encoded', lambda a, out: out[1]),  # coarse to fine
            (dec.query_decoder, 'preds', lambda a, out: out),
            (dec.query_decoder.layers[-1], 'query', lambda a, out: out),
            (dec.class_embed, 'classes', lambda a, out: out)):
        hooks.append(module.register_forward_hook(record(name, pick)))
    hooks += [  # positions: B, N, C of all levels; HW, C of the first (coarsest) level
        dec.pixel_decoder.layers[0].register_forward_pre_hook(
            record('pixel_pos', lambda a: a[1])),
        dec.query_decoder.layers[0].register_forward_pre_hook(
            record('query_pos', lambda a: a[3]))]
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64), [make_sample('red car', ori_shape=(64, 64),
                                                              img_shape=(64, 64))], mode='tensor')
    for h in hooks:
        h.remove()
    assert logits.shape == (1, 1, 16, 16) and torch.isfinite(logits).all()
    # stage outputs: the CAM mixer outputs, without Swin's norm{i}
    for i, m in enumerate(seen['maps']):
        torch.testing.assert_close(m.flatten(2).transpose(1, 2), seen[f'fused{i}'])
    # DETR's normalised sine positions (+ the official level embedding, coarse to fine)
    level_embed = o['classifier.pixel_decoder.transformer.level_embed']
    ref = torch.cat([detr_sine_pos(E, *m.shape[-2:]) + level_embed[3 - i]
                     for i, m in enumerate(seen['maps'])])  # fine to coarse
    torch.testing.assert_close(seen['pixel_pos'][0], ref)
    torch.testing.assert_close(seen['query_pos'],
                               detr_sine_pos(E, *seen['encoded'][0].shape[-2:]))
    # class score: class_embed(decoder_norm(query)); not applied to the output (1 query)
    p = 'classifier.predictor.'
    normed = F.layer_norm(seen['query'][:, 0], (E, ), o[p + 'decoder_norm.weight'],
                          o[p + 'decoder_norm.bias'])
    torch.testing.assert_close(seen['classes'], F.linear(normed, o[p + 'class_embed.weight'],
                                                         o[p + 'class_embed.bias']))
    torch.testing.assert_close(logits, seen['preds'][-1]['masks'])


def test_magnet_converter_unknown_keys(setup):
    conv, _, official = setup
    for bad in ('image_model.layers.0.fusion.image_lang_att.f_query.2.weight',
                'image_model.layers.0.pyramids.0.4.weight', 'language_model.pwams.0.gamma',
                'classifier.predictor.query_pos.weight', 'classifier.head.weight', 'lavt.x'):
        with pytest.raises(KeyError):
            conv.convert_magnet({**official, bad: torch.zeros(1)})
    # DDP prefixes are accepted
    state, _ = conv.convert_magnet({'module.' + k: v for k, v in official.items()})
    assert state.keys() == conv.convert_magnet(official)[0].keys()


def test_magnet_converter_cli(setup, tmp_path, monkeypatch, capsys):
    conv, bert_dir, official = setup
    src, dst = str(tmp_path / 'magnet.pth'), str(tmp_path / 'out.pth')
    # LAVT's layout (MagNet's training code builds on it): argparse.Namespace and plain state
    torch.save(dict(model=official, **lavt_training_state()), src)
    monkeypatch.setattr(sys, 'argv', ['magnet2mmris.py', '--src', src, '--dst', dst])
    assert conv.main() == 0
    printed = capsys.readouterr().out
    assert "'args'" in printed and "'lr_scheduler'" in printed
    assert 'lang_proj.weight' in printed and 'language_model.norms.0.weight' in printed
    assert 'image_model.norm3.bias' in printed and f'written to {dst}' in printed
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['not_loaded']['training_only'][0] in printed
    _load(conv, MODELS.build(_model_cfg(bert_dir)), ckpt['state_dict'])
