"""DETRIS: dense adapters on a timm DINOv2 and the CLIP text tower, its neck, freezing, the
Meta DINOv2 and official DETRIS checkpoint layouts."""
import copy
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

from mmris.models.layers import DenseAdapter
from mmris.models.utils import (PretrainedMismatchError, TextFeatures, convert_detris,
                                convert_dinov2)
from mmris.registry import MODELS
from .helpers import make_sample, model_cfg

ROOT = osp.join(osp.dirname(__file__), '..', '..')


@pytest.fixture(scope='module')
def toy_cfg():
    return model_cfg('detris_toy')


def _words(B=2, L=7, D=64):
    return torch.randn(B, L, D)


def _zero_adapters(module):
    for name, m in module.named_modules():
        if isinstance(m, DenseAdapter):
            torch.nn.init.zeros_(m.up.weight)
            torch.nn.init.zeros_(m.up.bias)


def test_dense_adapter_shapes():
    image = DenseAdapter(48, 32, spatial_dims=2, num_prefix_tokens=5, text_dims=64)
    x = torch.randn(2, 5 + 6 * 4, 48)
    assert image(x, (6, 4), _words()).shape == x.shape
    text = DenseAdapter(48, 32, spatial_dims=1, num_prefix_tokens=1, kaiming_init=False)
    x = torch.randn(2, 9, 48)
    assert text(x).shape == x.shape
    assert text.cross is None and image.cross is not None
    # the prefix tokens skip the conv branches but not the bottleneck
    y = text(x)
    x2 = x.clone()
    x2[:, 0] += 1
    assert torch.allclose(text(x2)[:, 1:], y[:, 1:], atol=1e-6)


def _backbone(**kw):
    cfg = dict(type='DINOv2Adapter', arch=dict(embed_dim=48, depth=3, num_heads=4),
               img_size=56, patch_size=14, out_indices=(0, 1), adapter_layers=(1, 2),
               adapter_dims=32, text_dims=64)
    return MODELS.build({**cfg, **kw})


def test_zero_adapters_leave_dinov2_unchanged():
    """With their up-projections zeroed, the adapters add nothing: the levels are timm's
    own blocks (Block.forward) and forward_features; with them, the output changes."""
    torch.manual_seed(0)
    backbone = _backbone().eval()
    for blk in backbone.vit.blocks:  # LayerScale as DINOv2's (timm inits it at 1e-5)
        blk.ls1.gamma.data.fill_(1.0)
        blk.ls2.gamma.data.fill_(1.0)
    x, text = torch.randn(2, 3, 56, 56), TextFeatures(None, _words(), None, None)
    adapted = backbone(x, text)
    _zero_adapters(backbone)
    outs = backbone(x, text)
    vit = backbone.vit
    assert [o.shape for o in outs] == [(2, 48, 4, 4)] * 3
    t = vit.norm_pre(vit._pos_embed(vit.patch_embed(x)))
    ref = []
    for i, blk in enumerate(vit.blocks):
        t = blk(t)
        if i in (0, 1):
            ref.append(t)
    ref.append(vit.forward_features(x))
    for o, r in zip(outs, ref):
        r = r[:, 5:].transpose(1, 2).reshape(2, 48, 4, 4)
        torch.testing.assert_close(o, r, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(adapted[-1], outs[-1], atol=1e-3)
    torch.testing.assert_close(adapted[0], outs[0])  # block 0 has no adapter


def test_zero_adapters_leave_clip_text_unchanged():
    torch.manual_seed(0)
    enc = MODELS.build(dict(type='CLIPTextEncoder', arch=dict(width=64, heads=4, layers=3,
                                                               output_dim=32),
                            word_len=9, adapter_layers=(0, 2), adapter_dims=32)).eval()
    sentences = ['the red circle on the left', 'a big square']
    adapted = enc(sentences)
    _zero_adapters(enc)
    out = enc(sentences)
    sentence, words = enc.text(enc.tokenize(sentences))
    torch.testing.assert_close(out.words, words, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.sentence, sentence, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(adapted.words, words, atol=1e-3)


def test_frozen_towers_get_no_gradient(toy_cfg):
    cfg = copy.deepcopy(toy_cfg)
    cfg['backbone']['frozen'] = True
    cfg['text_encoder']['frozen'] = True
    model = MODELS.build(cfg)
    model.train()
    samples = [make_sample('the red circle', gt=torch.randint(0, 2, (1, 128, 128))),
               make_sample('a blue square on the left', gt=torch.randint(0, 2, (1, 128, 128)))]
    losses = model.loss(torch.randn(2, 3, 128, 128), samples)
    losses['decode.loss_ce'].backward()
    for name, p in model.named_parameters():
        frozen = name.startswith(('backbone.vit.', 'text_encoder.text.'))
        assert p.requires_grad != frozen, name
        if frozen:
            assert p.grad is None, name
    assert isinstance(model.backbone.vit.patch_embed.proj, torch.nn.Sequential)  # toy stem
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    for part in ('backbone.adapters.', 'text_encoder.adapters.', 'neck.', 'decode_head.'):
        assert any(n.startswith(part) for n in trained), part
    # every adapter parameter is reached by the loss
    for name, p in model.named_parameters():
        if '.adapters.' in name and 'cross.attn' not in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_shapes_at_448(toy_cfg):
    """A tiny model at DETRIS's input: 32 x 32 patches of 14, 128 x 128 logits."""
    cfg = copy.deepcopy(toy_cfg)
    cfg['backbone'].update(img_size=448, patch_size=14, arch=dict(embed_dim=32, depth=2,
                                                                   num_heads=2),
                           out_indices=(0, 1), adapter_layers=(1, ), adapter_dims=16,
                           stem_channels=())
    cfg['neck']['in_channels'] = [32, 32, 32]
    cfg['data_preprocessor']['size'] = (448, 448)
    model = MODELS.build(cfg).eval()
    x = torch.randn(1, 3, 448, 448)
    text = model.extract_text([make_sample('the red circle')])
    feats = model.backbone(x, text)
    assert [f.shape for f in feats] == [(1, 32, 32, 32)] * 3
    assert model.neck(feats, text).shape == (1, 128, 32, 32)
    samples = [make_sample('the red circle', ori_shape=(300, 448), img_shape=(448, 448))]
    with torch.no_grad():
        assert model._forward(x, samples).shape == (1, 1, 128, 128)
        out = model.predict(x, samples)
    assert out[0].pred_sem_seg.data.shape == (1, 300, 448)


def _meta_dinov2(C=48, depth=2, grid=5, p=14):
    """Random tensors with the key names and shapes of Meta's dinov2_*_reg4_pretrain.pth."""
    s = {'cls_token': (1, 1, C), 'pos_embed': (1, 1 + grid * grid, C),
         'register_tokens': (1, 4, C), 'mask_token': (1, C),
         'patch_embed.proj.weight': (C, 3, p, p), 'patch_embed.proj.bias': (C, ),
         'norm.weight': (C, ), 'norm.bias': (C, )}
    for i in range(depth):
        b = f'blocks.{i}'
        s.update({f'{b}.norm1.weight': (C, ), f'{b}.norm1.bias': (C, ),
                  f'{b}.attn.qkv.weight': (3 * C, C), f'{b}.attn.qkv.bias': (3 * C, ),
                  f'{b}.attn.proj.weight': (C, C), f'{b}.attn.proj.bias': (C, ),
                  f'{b}.ls1.gamma': (C, ), f'{b}.norm2.weight': (C, ), f'{b}.norm2.bias': (C, ),
                  f'{b}.mlp.fc1.weight': (4 * C, C), f'{b}.mlp.fc1.bias': (4 * C, ),
                  f'{b}.mlp.fc2.weight': (C, 4 * C), f'{b}.mlp.fc2.bias': (C, ),
                  f'{b}.ls2.gamma': (C, )})
    return s


def _randn(shapes):
    return {k: torch.randint(0, 9, v) if k.endswith('tracked') else torch.randn(v)
            for k, v in shapes.items()}


def test_convert_dinov2_is_timms_filter():
    """Our renames equal timm's checkpoint_filter_fn on Meta's layout (same grid: no
    resampling, where the two differ on purpose)."""
    torch.manual_seed(0)
    meta = _randn(_meta_dinov2(grid=4))
    vit = VisionTransformer(img_size=56, patch_size=14, embed_dim=48, depth=2, num_heads=4,
                            num_classes=0, global_pool='', init_values=1e-5, reg_tokens=4,
                            no_embed_class=True)
    ours, timm = convert_dinov2(meta, (4, 4)), checkpoint_filter_fn(dict(meta), vit)
    assert ours.keys() == timm.keys()
    for k in ours:
        torch.testing.assert_close(ours[k], timm[k], rtol=0, atol=0)
    vit.load_state_dict(ours, strict=True)


def test_dinov2_pretrained_strict(tmp_path):
    meta = _randn(_meta_dinov2(grid=37))  # Meta's 518-pixel grid, resampled to 4 x 4
    path = str(tmp_path / 'dinov2_reg4.pth')
    torch.save(meta, path)
    backbone = _backbone(pretrained=path, arch=dict(embed_dim=48, depth=2, num_heads=4),
                         out_indices=(0, ), adapter_layers=(1, ))
    backbone.init_weights()
    torch.testing.assert_close(backbone.vit.blocks[1].ls2.gamma, meta['blocks.1.ls2.gamma'])
    assert backbone.vit.pos_embed.shape == (1, 16, 48)
    del meta['blocks.1.mlp.fc2.bias']
    torch.save(meta, path)
    with pytest.raises(PretrainedMismatchError,
                       match=r'(?s)dinov2_reg4\.pth does not fit the DINOv2 .*'
                             r'blocks\.1\.mlp\.fc2\.bias'):
        backbone.init_weights()
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        _backbone(pretrained=str(tmp_path / 'nowhere.pth')).init_weights()


# ---- the official DETRIS checkpoint layout (model/*.py of jiaqihuang01/DETRIS) -------------
BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
# tiny widths: text W, DINOv2 C (depth 3), adapters d, neck/decoder V, sentence E
# (the official decoder attends with kdim = vdim = its width: words as wide as V)
W, C, DEPTH, D_IMG, D_TXT, V, E, FFN = 64, 48, 3, 32, 16, 64, 40, 96


def _bn(p, c):
    return {f'{p}.{n}': () if n == 'num_batches_tracked' else (c, ) for n in BN}


def _ln(p, c):
    return {f'{p}.weight': (c, ), f'{p}.bias': (c, )}


def _mha(p, d):
    return {f'{p}.in_proj_weight': (3 * d, d), f'{p}.in_proj_bias': (3 * d, ),
            f'{p}.out_proj.weight': (d, d), f'{p}.out_proj.bias': (d, )}


def _conv_layer(p, cin, cout, k, transposed=False):
    return {f'{p}.0.weight': (cin, cout, k, k) if transposed else (cout, cin, k, k),
            **_bn(f'{p}.1', cout)}


def _official_adapter(p, width, d, kdims, text_dim=None):
    """model/adapter.py: TextAdapter (kdims 1) / DenseAligner (kdims 2: + cross)."""
    k = lambda n: (n, ) * kdims  # noqa: E731
    s = {f'{p}.D_fc1.weight': (d, width), f'{p}.D_fc1.bias': (d, ),
         f'{p}.D_fc2.weight': (width, d), f'{p}.D_fc2.bias': (width, )}
    convs = {'dense_branch1': (d, d // 2, 1), 'dense_branch2.0': (d + d // 2, d // 16, 1),
             'dense_branch2.1': (d // 16, d // 4, 3),
             'dense_branch3.0': (d + d // 2 + d // 4, d // 16, 1),
             'dense_branch3.1': (d // 16, d // 4, 5)}
    for name, (cin, cout, ks) in convs.items():
        s.update({f'{p}.{name}.conv.weight': (cout, cin, *k(ks)),
                  f'{p}.{name}.conv.bias': (cout, ), **_bn(f'{p}.{name}.bn', cout)})
    if text_dim:  # CrossModalAttention(image_dim=d, text_dim, embed_dim=128, 8 heads)
        s.update({**_mha(f'{p}.cross.multihead_attn', 128),
                  f'{p}.cross.image_proj.weight': (128, d), f'{p}.cross.image_proj.bias': (128, ),
                  f'{p}.cross.text_proj.weight': (128, text_dim),
                  f'{p}.cross.text_proj.bias': (128, ),
                  f'{p}.cross.back_proj.weight': (d, 128), f'{p}.cross.back_proj.bias': (d, )})
    return s


def official_shapes(txt_layers=(1, ), img_layers=(1, 2)):
    s = {'txt_backbone.positional_embedding': (77, W), 'txt_backbone.logit_scale': (),
         'txt_backbone.token_embedding.weight': (49408, W),
         'txt_backbone.text_projection': (W, E), **_ln('txt_backbone.ln_final', W)}
    for i in range(2):  # CLIP text blocks
        p = f'txt_backbone.transformer.resblocks.{i}'
        s.update({**_mha(f'{p}.attn', W), **_ln(f'{p}.ln_1', W), **_ln(f'{p}.ln_2', W),
                  f'{p}.mlp.c_fc.weight': (4 * W, W), f'{p}.mlp.c_fc.bias': (4 * W, ),
                  f'{p}.mlp.c_proj.weight': (W, 4 * W), f'{p}.mlp.c_proj.bias': (W, )})
        if i in txt_layers:
            s.update(_official_adapter(f'{p}.adapter', W, D_TXT, 1))
    # DINOv2 at img_size 526 (37 x 37 positions), adapters attending to the W-wide words
    s.update({f'dinov2.{k}': v for k, v in _meta_dinov2(C, DEPTH, grid=37).items()})
    for i in img_layers:
        s.update(_official_adapter(f'dinov2.blocks.{i}.adapter', C, D_IMG, 2, text_dim=W))
    # Neck(in_channels=[C] * 3, out_channels=[., V, .], stride=[1, 1, 1]); txt_proj from E
    s.update({'neck.txt_proj.weight': (V, E), 'neck.txt_proj.bias': (V, ),
              **_conv_layer('neck.f3_proj', C, V, 1), **_conv_layer('neck.f4_proj', C, V, 1),
              **_conv_layer('neck.f5_proj', C, V, 1, transposed=True),
              **_conv_layer('neck.aggr', 3 * V, V, 1),
              **_conv_layer('neck.coordconv.0.conv1', V + 2, V, 3),
              **_conv_layer('neck.coordconv.1', V, V, 3)})
    for n in (3, 4, 5):
        s.update(_mha(f'neck.fusion{n}.multihead_attn', V))
    # Decoder(1 layer, d_model V, FFN) over W-wide words, Projector(E, V // 2, 3)
    p = 'decoder.layers.0'
    for n in ('self_attn_norm', 'cross_attn_norm', 'norm1', 'norm2', 'norm3'):
        s.update(_ln(f'{p}.{n}', V))
    s.update({**_mha(f'{p}.self_attn', V), **_mha(f'{p}.multihead_attn', V),
              f'{p}.ffn.0.weight': (FFN, V), f'{p}.ffn.0.bias': (FFN, ), **_ln(f'{p}.ffn.3', FFN),
              f'{p}.ffn.4.weight': (V, FFN), f'{p}.ffn.4.bias': (V, ), **_ln('decoder.norm', V)})
    half = V // 2
    s.update({**_conv_layer('proj.vis.1', V, V, 3), **_conv_layer('proj.vis.3', V, half, 3),
              'proj.vis.4.weight': (half, half, 1, 1), 'proj.vis.4.bias': (half, ),
              'proj.txt.weight': (half * 9 + 1, E), 'proj.txt.bias': (half * 9 + 1, )})
    return s


def mmris_cfg(toy_cfg):
    cfg = copy.deepcopy(toy_cfg)
    cfg['backbone'].update(arch=dict(embed_dim=C, depth=DEPTH, num_heads=4), img_size=56,
                           patch_size=14, out_indices=(0, 1), adapter_layers=(1, 2),
                           adapter_dims=D_IMG, text_dims=W, stem_channels=())
    cfg['text_encoder'].update(arch=dict(width=W, heads=4, layers=2, output_dim=E),
                               adapter_layers=(1, ), adapter_dims=D_TXT, word_len=17)
    cfg['neck'].update(in_channels=[C] * 3, channels=V, sentence_dim=E, num_heads=8)
    cfg['decode_head'].update(in_channels=V, channels=V // 2, sentence_dim=E, text_dims=W,
                              num_layers=1, num_heads=8, feedforward_channels=FFN)
    return cfg


def test_convert_official_state_dict(toy_cfg):
    torch.manual_seed(0)
    official = {'module.' + k: v for k, v in _randn(official_shapes()).items()}
    checkpoint = {'epoch': 50, 'cur_iou': 0.7, 'best_iou': 0.7, 'prec': {'Pr@50': 0.8},
                  'state_dict': official, 'optimizer': {}, 'scheduler': {}}
    converted = convert_detris(checkpoint, word_len=17, grid=(4, 4))
    model = MODELS.build(mmris_cfg(toy_cfg))
    model.load_state_dict(converted, strict=True)
    sd = model.state_dict()
    pairs = {
        'txt_backbone.transformer.resblocks.1.attn.in_proj_weight':
        'text_encoder.text.transformer.resblocks.1.attn.in_proj_weight',
        'txt_backbone.transformer.resblocks.1.adapter.D_fc1.weight':
        'text_encoder.adapters.1.down.weight',
        'txt_backbone.transformer.resblocks.1.adapter.dense_branch3.1.bn.running_var':
        'text_encoder.adapters.1.branch3.1.1.running_var',
        'dinov2.blocks.2.attn.qkv.weight': 'backbone.vit.blocks.2.attn.qkv.weight',
        'dinov2.blocks.0.ls2.gamma': 'backbone.vit.blocks.0.ls2.gamma',
        'dinov2.register_tokens': 'backbone.vit.reg_token',
        'dinov2.blocks.2.adapter.dense_branch1.conv.weight':
        'backbone.adapters.2.branch1.0.weight',
        'dinov2.blocks.1.adapter.cross.multihead_attn.in_proj_weight':
        'backbone.adapters.1.cross.attn.in_proj_weight',
        'dinov2.blocks.1.adapter.D_fc2.bias': 'backbone.adapters.1.up.bias',
        'neck.fusion4.multihead_attn.out_proj.weight': 'neck.gates.1.out_proj.weight',
        'neck.f5_proj.0.weight': 'neck.f5_proj.conv.weight',
        'neck.coordconv.0.conv1.1.running_mean': 'neck.coord_conv.conv.bn.running_mean',
        'neck.coordconv.1.0.weight': 'neck.out_conv.conv.weight',
        'decoder.layers.0.multihead_attn.in_proj_weight':
        'decode_head.decoder.layers.0.cross_attn.in_proj_weight',
        'proj.txt.bias': 'decode_head.projector.kernel_proj.bias',
    }
    for old, new in pairs.items():
        assert torch.equal(sd[new], official['module.' + old]), (old, new)
    assert torch.equal(sd['text_encoder.text.positional_embedding'],
                       official['module.txt_backbone.positional_embedding'][:17])
    cls = official['module.dinov2.cls_token'] + official['module.dinov2.pos_embed'][:, :1]
    torch.testing.assert_close(sd['backbone.vit.cls_token'], cls)
    assert not any('logit_scale' in k or 'mask_token' in k for k in converted)


def test_converter_tool(tmp_path, toy_cfg):
    spec = importlib.util.spec_from_file_location(
        'detris2mmris', osp.join(ROOT, 'tools', 'model_converters', 'detris2mmris.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    official = {'module.' + k: v for k, v in _randn(official_shapes()).items()}
    src, dst = str(tmp_path / 'detris.pth'), str(tmp_path / 'out.pth')
    torch.save({'epoch': 50, 'best_iou': 0.7, 'state_dict': official}, src)
    argv, sys.argv = sys.argv, ['detris2mmris', '--src', src, '--dst', dst, '--img-size', '56']
    try:
        tool.main()
    finally:
        sys.argv = argv
    state = torch.load(dst, weights_only=True)['state_dict']
    MODELS.build(mmris_cfg(toy_cfg)).load_state_dict(state, strict=True)


def test_inferencer_on_the_toy_config(tmp_path):
    """RISInferencer (and so demo/image_demo.py) runs a DETRIS config, named by its alias."""
    import numpy as np
    from mmengine.config import Config

    from mmris.apis import RISInferencer
    config = osp.join(ROOT, 'configs', 'detris', 'detris_toy_1xb16-10e_toy-128.py')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    path = str(tmp_path / 'detris_toy.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    img = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    for name in (config, 'detris-toy'):
        inferencer = RISInferencer(name, weights=path, device='cpu', show_progress=False)
        (pred, ) = inferencer(img, 'the red circle')['predictions']
        assert pred['mask'].shape == (60, 80) and set(np.unique(pred['mask'])) <= {0, 1}
