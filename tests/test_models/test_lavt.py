"""LAVT: head, loss, tiny model, and the converter of released LAVT checkpoints."""
import argparse
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from mmris.registry import MODELS
from .helpers import make_sample, model_cfg
from .test_bert_text_encoder import write_tiny_bert
from .test_pixel_word_attention import lavt_attention

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def _converter():
    spec = importlib.util.spec_from_file_location(
        'lavt2mmris', osp.join(ROOT, 'tools/model_converters/lavt2mmris.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _gt(size=128):
    gt = torch.zeros(1, size, size, dtype=torch.long)
    gt[:, 30:80, 40:90] = 1
    return gt


def test_lavt_head_shapes_and_loss():
    head = MODELS.build(dict(type='LAVTHead', in_channels=[8, 16, 32, 64], channels=16))
    feats = [torch.randn(2, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate([8, 16, 32, 64])]
    assert [tuple(y.shape) for y in head.decode(feats)] == [(2, 16, 8, 8), (2, 16, 16, 16),
                                                           (2, 16, 32, 32)]
    logits = head(feats)
    assert logits.shape == (2, 1, 32, 32)
    samples = [make_sample('a', img_shape=(128, 128), gt=_gt()) for _ in range(2)]
    losses = head.loss_by_feat(logits, samples)
    # LAVT: 2-class CE with weights (0.9, 1.1) on logits upsampled to the target; the
    # 1-logit head is its (object - background) difference
    up = F.interpolate(logits, (128, 128), mode='bilinear', align_corners=True)
    two = torch.cat([torch.zeros_like(up), up], 1)
    target = torch.cat([_gt(), _gt()])
    ref = F.cross_entropy(two, target, weight=torch.tensor([0.9, 1.1]))
    torch.testing.assert_close(losses['loss_mask'], ref)
    assert 0 <= losses['iou_seg'] <= 100


def test_lavt_toy_model_trains_and_predicts():
    model = MODELS.build(model_cfg('lavt_toy'))
    model.init_weights()
    x = torch.randn(2, 3, 128, 128)
    samples = [make_sample('the big red shape', gt=_gt()), make_sample('left one', gt=_gt())]
    losses = model.loss(x, samples)
    assert set(losses) == {'decode.loss_mask', 'decode.iou_seg'}
    losses['decode.loss_mask'].backward()
    assert model.backbone.fusions[0].pwam.attn.key.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model.predict(x, samples)
    assert out[0].pred_sem_seg.shape == (128, 128)  # LAVT protocol: at the input size


# ---- the converter, on a state dict with LAVT's key names and shapes built here ----
LAVT_TINY = dict(embed_dim=16, depths=(2, 2, 2, 2), heads=(1, 2, 2, 4), window=4, l_dim=32)


def lavt_state_dict(embed_dim, depths, heads, window, l_dim):
    """Random weights under yz93/LAVT-RIS's names: MultiModalSwinTransformer (backbone.*)
    and SimpleDecoding (classifier.*), as ``model.state_dict()`` of ``lib/_utils.LAVT``."""
    g = torch.Generator().manual_seed(0)
    sd = {}

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    def lin(name, o, i, bias=True, conv1d=False):
        sd[name + '.weight'] = r(o, i, 1) if conv1d else r(o, i)
        if bias:
            sd[name + '.bias'] = r(o)

    def norm(name, c):
        sd[name + '.weight'], sd[name + '.bias'] = 1 + r(c), r(c)

    b = 'backbone.'
    sd[b + 'patch_embed.proj.weight'], sd[b + 'patch_embed.proj.bias'] = r(embed_dim, 3, 4, 4), \
        r(embed_dim)
    norm(b + 'patch_embed.norm', embed_dim)
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                        indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
    index = rel[..., 0] * (2 * window - 1) + rel[..., 1]
    for i, (d, h) in enumerate(zip(depths, heads)):
        c, L = embed_dim * 2**i, f'{b}layers.{i}.'
        for j in range(d):
            k = f'{L}blocks.{j}.'
            norm(k + 'norm1', c)
            sd[k + 'attn.relative_position_bias_table'] = r((2 * window - 1)**2, h)
            sd[k + 'attn.relative_position_index'] = index.clone()
            lin(k + 'attn.qkv', 3 * c, c)
            lin(k + 'attn.proj', c, c)
            norm(k + 'norm2', c)
            lin(k + 'mlp.fc1', 4 * c, c)
            lin(k + 'mlp.fc2', c, 4 * c)
        f = L + 'fusion.'
        lin(f + 'vis_project.0', c, c, conv1d=True)
        lin(f + 'image_lang_att.f_key.0', c, l_dim, conv1d=True)
        lin(f + 'image_lang_att.f_query.0', c, c, conv1d=True)
        lin(f + 'image_lang_att.f_value.0', c, l_dim, conv1d=True)
        lin(f + 'image_lang_att.W.0', c, c, conv1d=True)
        lin(f + 'project_mm.0', c, c, conv1d=True)
        lin(L + 'res_gate.0', c, c, bias=False)
        lin(L + 'res_gate.2', c, c, bias=False)
        if i < len(depths) - 1:
            lin(L + 'downsample.reduction', 2 * c, 4 * c, bias=False)
            norm(L + 'downsample.norm', 4 * c)
        norm(f'{b}norm{i}', c)
    c4 = embed_dim * 8
    hid, cl = c4 // 2, 'classifier.'
    for name, cin in (('1_4', c4 + c4 // 2), ('2_4', hid), ('1_3', hid + c4 // 4), ('2_3', hid),
                      ('1_2', hid + c4 // 8), ('2_2', hid)):
        sd[f'{cl}conv{name}.weight'] = r(hid, cin, 3, 3)
        norm(f'{cl}bn{name}', hid)
        sd[f'{cl}bn{name}.running_mean'], sd[f'{cl}bn{name}.running_var'] = r(hid), 1 + r(hid).abs()
        sd[f'{cl}bn{name}.num_batches_tracked'] = torch.tensor(7)
    sd[cl + 'conv1_1.weight'], sd[cl + 'conv1_1.bias'] = r(2, hid, 1, 1), r(2)
    return sd


def _lavt_model_cfg(bert_dir):
    cfg = model_cfg('lavt_toy')
    e, d, h, w = (LAVT_TINY[k] for k in ('embed_dim', 'depths', 'heads', 'window'))
    cfg['backbone'].update(embed_dims=e, depths=d, num_heads=h, window_size=w, text_dims=32,
                           stem_channels=None)  # LAVT's own 4 x 4 patch embedding
    cfg['text_encoder'] = dict(type='BERTTextEncoder', pretrained=bert_dir, word_len=8)
    cfg['decode_head'].update(in_channels=[e, 2 * e, 4 * e, 8 * e], channels=4 * e)
    return cfg


def lavt_training_state() -> dict:
    """What LAVT's ``train.py`` saves beside the weights: ``optimizer`` (AdamW),
    ``lr_scheduler`` (LambdaLR with a lambda: saved as None), ``epoch`` and ``args``."""
    param = torch.nn.Parameter(torch.ones(3))
    param.grad = torch.ones(3)
    optim = torch.optim.AdamW([param], lr=5e-5)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda x: (1 - x / 100)**0.9)
    optim.step()
    sched.step()
    args = argparse.Namespace(model='lavt', swin_type='base', lr=5e-5, epochs=40, mha='',
                              window12=True, fusion_drop=0.0, refer_data_root='./refer/data/')
    return dict(optimizer=optim.state_dict(), epoch=3, args=args,
                lr_scheduler=sched.state_dict())


def test_lavt_converter_cli(tmp_path, monkeypatch, capsys):
    """The released file as LAVT's train.py saves it (argparse.Namespace included) converts
    under weights_only=True; what is not converted is listed."""
    pytest.importorskip('transformers')
    conv = _converter()
    bert_dir = write_tiny_bert(tmp_path)
    bert_sd = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir)).bert.state_dict()
    bert_sd['pooler.dense.weight'] = torch.zeros(32, 32)
    src, dst = str(tmp_path / 'refcoco.pth'), str(tmp_path / 'out.pth')
    torch.save(dict(model=lavt_state_dict(**LAVT_TINY), bert_model=bert_sd,
                    **lavt_training_state()), src)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(src) == ['argparse.Namespace']
    monkeypatch.setattr('sys.argv', ['lavt2mmris.py', '--src', src, '--dst', dst])
    assert conv.main() == 0
    out = capsys.readouterr().out
    for skipped in ("'optimizer'", "'epoch'", "'args'", "'lr_scheduler'",
                    'BERT pooler.dense.weight'):
        assert skipped in out
    state = torch.load(dst, weights_only=True)['state_dict']
    MODELS.build(_lavt_model_cfg(bert_dir)).load_state_dict(state, strict=True)


def test_lavt_converter(tmp_path):
    pytest.importorskip('transformers')
    conv = _converter()
    bert_dir = write_tiny_bert(tmp_path)
    bert = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir)).bert
    bert_sd = {k: v + 0.01 for k, v in bert.state_dict().items()}
    bert_sd['pooler.dense.weight'] = torch.zeros(32, 32)
    lavt = lavt_state_dict(**LAVT_TINY)
    ckpt = dict(model=lavt, bert_model=bert_sd, epoch=3)
    state = conv.convert_lavt(ckpt)
    model = MODELS.build(_lavt_model_cfg(bert_dir))
    model.load_state_dict(state, strict=True)  # every key, every shape
    model.eval()
    # PWAM of stage 1 computes LAVT's formula with the official weights
    f = 'backbone.layers.1.fusion.'
    x, words = torch.randn(2, 20, 32), torch.randn(2, 5, 32)
    mask = torch.tensor([[False] * 3 + [True] * 2, [False] * 5])
    pwam = model.backbone.fusions[1].pwam
    att = pwam.attn
    torch.testing.assert_close(att.query.weight, lavt[f + 'image_lang_att.f_query.0.weight'][..., 0])
    vis = F.gelu(F.conv1d(x.transpose(1, 2), lavt[f + 'vis_project.0.weight'],
                          lavt[f + 'vis_project.0.bias']))
    lang = lavt_attention(att, x, words, mask).transpose(1, 2)
    ref = F.gelu(F.conv1d(vis * lang, lavt[f + 'project_mm.0.weight'],
                          lavt[f + 'project_mm.0.bias'])).transpose(1, 2)
    torch.testing.assert_close(pwam(x, words, mask), ref, atol=1e-4, rtol=1e-4)
    # the 1-logit classifier gives LAVT's softmax probability of "object"
    head = model.decode_head
    y = torch.randn(1, 64, 4, 4)
    two = F.conv2d(y, lavt['classifier.conv1_1.weight'], lavt['classifier.conv1_1.bias'])
    torch.testing.assert_close(head.conv_seg(y).sigmoid()[:, 0], two.softmax(1)[:, 1])
    torch.testing.assert_close(head.fuses[2][1].bn.running_var, lavt['classifier.bn2_2.running_var'])
    # BERT weights from 'bert_model'
    torch.testing.assert_close(model.text_encoder.bert.embeddings.word_embeddings.weight,
                               bert_sd['embeddings.word_embeddings.weight'])
    # a full forward runs
    with torch.no_grad():
        logits = model._forward(torch.randn(1, 3, 64, 64), [make_sample('red car')])
    assert logits.shape == (1, 1, 16, 16)
    # LAVT-One layout: BERT inside 'model' as text_encoder.*
    one = dict(model={**lavt, **{f'text_encoder.{k}': v for k, v in bert_sd.items()}})
    assert conv.convert_lavt(one).keys() == state.keys()
