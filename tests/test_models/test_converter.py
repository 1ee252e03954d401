"""The official CRIS checkpoint layout (DerrickWang005/CRIS.pytorch) -> mmris, strict load."""
import copy
import importlib.util
import os.path as osp

import torch

from mmris.models.utils import convert_cris
from mmris.registry import MODELS

BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
# a small CRIS whose decoder width equals the word width, as the official decoder requires
VIS, WORDS, SENT, FFN, LAYERS, WIDTH = 64, 64, 96, 128, 1, 16


def _bn(prefix, c):
    return {f'{prefix}.{n}': () if n == 'num_batches_tracked' else (c, ) for n in BN}


def _conv_layer(prefix, cin, cout, k):  # official conv_layer: Sequential(conv, BN, ReLU)
    return {f'{prefix}.0.weight': (cout, cin, k, k), **_bn(f'{prefix}.1', c=cout)}


def _mha(prefix, d):
    return {f'{prefix}.in_proj_weight': (3 * d, d), f'{prefix}.in_proj_bias': (3 * d, ),
            f'{prefix}.out_proj.weight': (d, d), f'{prefix}.out_proj.bias': (d, )}


def _ln(prefix, d):
    return {f'{prefix}.weight': (d, ), f'{prefix}.bias': (d, )}


def official_shapes(word_len_ctx=77):
    """Key -> shape of the official CRIS model with the small widths above."""
    s = {}
    # CLIP ModifiedResNet (layers [1, 1, 1, 1], width WIDTH) with CRIS's attnpool.connect
    s.update({'visual.conv1.weight': (WIDTH // 2, 3, 3, 3), **_bn('visual.bn1', WIDTH // 2),
              'visual.conv2.weight': (WIDTH // 2, WIDTH // 2, 3, 3),
              **_bn('visual.bn2', WIDTH // 2), 'visual.conv3.weight': (WIDTH, WIDTH // 2, 3, 3),
              **_bn('visual.bn3', WIDTH)})
    inplanes = WIDTH
    for i, planes in enumerate([WIDTH, 2 * WIDTH, 4 * WIDTH, 8 * WIDTH]):
        p = f'visual.layer{i + 1}.0'
        s.update({f'{p}.conv1.weight': (planes, inplanes, 1, 1), **_bn(f'{p}.bn1', planes),
                  f'{p}.conv2.weight': (planes, planes, 3, 3), **_bn(f'{p}.bn2', planes),
                  f'{p}.conv3.weight': (4 * planes, planes, 1, 1),
                  **_bn(f'{p}.bn3', 4 * planes),
                  f'{p}.downsample.0.weight': (4 * planes, inplanes, 1, 1),
                  **_bn(f'{p}.downsample.1', 4 * planes)})
        inplanes = 4 * planes
    embed = 32 * WIDTH
    s['visual.attnpool.positional_embedding'] = (50, embed)
    for n in 'qkv':
        s.update({f'visual.attnpool.{n}_proj.weight': (embed, embed),
                  f'visual.attnpool.{n}_proj.bias': (embed, )})
    s.update({'visual.attnpool.c_proj.weight': (SENT, embed),
              'visual.attnpool.c_proj.bias': (SENT, ),
              'visual.attnpool.connect.0.weight': (SENT, embed, 1, 1),
              **_bn('visual.attnpool.connect.1', SENT)})
    # CLIP text transformer (1 layer, width WORDS)
    s.update({'token_embedding.weight': (49408, WORDS),
              'positional_embedding': (word_len_ctx, WORDS),
              'text_projection': (WORDS, SENT), 'logit_scale': (), **_ln('ln_final', WORDS)})
    p = 'transformer.resblocks.0'
    s.update({**_mha(f'{p}.attn', WORDS), **_ln(f'{p}.ln_1', WORDS), **_ln(f'{p}.ln_2', WORDS),
              f'{p}.mlp.c_fc.weight': (4 * WORDS, WORDS), f'{p}.mlp.c_fc.bias': (4 * WORDS, ),
              f'{p}.mlp.c_proj.weight': (WORDS, 4 * WORDS), f'{p}.mlp.c_proj.bias': (WORDS, )})
    s = {f'backbone.{k}': v for k, v in s.items()}
    # FPN(in_channels=[8w, 16w, SENT], out_channels=[32, VIS, 96])
    c3, c4, c5, o3, o4, o5 = 8 * WIDTH, 16 * WIDTH, SENT, 32, VIS, 96
    neck = {'txt_proj.0.weight': (o5, SENT), **_bn('txt_proj.1', o5),
            **_conv_layer('f1_v_proj', c5, o5, 1), **_bn('norm_layer.0', o5),
            **_conv_layer('f2_v_proj', c4, o4, 3), **_conv_layer('f2_cat', o5 + o4, o4, 1),
            **_conv_layer('f3_v_proj', c3, o3, 3), **_conv_layer('f3_cat', o3 + o4, o4, 1),
            **_conv_layer('f4_proj5', o5, o4, 3), **_conv_layer('f4_proj4', o4, o4, 3),
            **_conv_layer('f4_proj3', o4, o4, 3), **_conv_layer('aggr', 3 * o4, o4, 1),
            **_conv_layer('coordconv.0.conv1', o4 + 2, o4, 3),
            **_conv_layer('coordconv.1', o4, o4, 3)}
    s.update({f'neck.{k}': v for k, v in neck.items()})
    # TransformerDecoder(LAYERS, VIS, 8 heads, FFN)
    for i in range(LAYERS):
        p = f'decoder.layers.{i}'
        for n in ('self_attn_norm', 'cross_attn_norm', 'norm1', 'norm2', 'norm3'):
            s.update(_ln(f'{p}.{n}', VIS))
        s.update({**_mha(f'{p}.self_attn', VIS), **_mha(f'{p}.multihead_attn', VIS),
                  f'{p}.ffn.0.weight': (FFN, VIS), f'{p}.ffn.0.bias': (FFN, ),
                  **_ln(f'{p}.ffn.3', FFN), f'{p}.ffn.4.weight': (VIS, FFN),
                  f'{p}.ffn.4.bias': (VIS, )})
    s.update(_ln('decoder.norm', VIS))
    # Projector(word_dim=SENT, in_dim=VIS // 2, 3)
    half = VIS // 2
    s.update({**_conv_layer('proj.vis.1', VIS, VIS, 3), **_conv_layer('proj.vis.3', VIS, half, 3),
              'proj.vis.4.weight': (half, half, 1, 1), 'proj.vis.4.bias': (half, ),
              'proj.txt.weight': (half * 9 + 1, SENT), 'proj.txt.bias': (half * 9 + 1, )})
    return s


def mmris_cfg(tiny_cfg):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['backbone']['arch'] = dict(layers=[1, 1, 1, 1], width=WIDTH, heads=4, output_dim=SENT)
    cfg['text_encoder']['arch'] = dict(width=WORDS, heads=4, layers=1, output_dim=SENT)
    cfg['neck'].update(in_channels=[8 * WIDTH, 16 * WIDTH, SENT], out_channels=[32, VIS, 96],
                       sentence_dim=SENT)
    cfg['decode_head'].update(in_channels=VIS, channels=VIS // 2, sentence_dim=SENT,
                              text_dims=WORDS, num_layers=LAYERS, num_heads=8,
                              feedforward_channels=FFN)
    return cfg


def test_convert_official_state_dict(tiny_cfg):
    torch.manual_seed(0)
    official = {}
    for k, shape in official_shapes().items():
        official['module.' + k] = torch.randint(0, 100, shape) if k.endswith('tracked') \
            else torch.randn(shape)
    converted = convert_cris({'state_dict': official}, word_len=17)
    model = MODELS.build(mmris_cfg(tiny_cfg))
    model.load_state_dict(converted, strict=True)
    sd = model.state_dict()
    pairs = {
        'backbone.visual.attnpool.connect.1.running_var':
        'backbone.visual.attnpool.connect.1.running_var',
        'backbone.transformer.resblocks.0.attn.in_proj_weight':
        'text_encoder.text.transformer.resblocks.0.attn.in_proj_weight',
        'neck.f1_v_proj.0.weight': 'neck.f5_proj.conv.weight',
        'neck.norm_layer.0.bias': 'neck.f5_norm.0.bias',
        'neck.f4_proj3.1.running_mean': 'neck.f3_out.bn.running_mean',
        'neck.coordconv.0.conv1.0.weight': 'neck.coord_conv.conv.conv.weight',
        'neck.coordconv.1.1.weight': 'neck.out_conv.bn.weight',
        'decoder.layers.0.multihead_attn.in_proj_weight':
        'decode_head.decoder.layers.0.cross_attn.in_proj_weight',
        'decoder.layers.0.ffn.3.weight': 'decode_head.decoder.layers.0.ffn.3.weight',
        'proj.vis.3.1.bias': 'decode_head.projector.pixel_proj.3.bn.bias',
        'proj.vis.4.weight': 'decode_head.projector.pixel_proj.4.weight',
        'proj.txt.bias': 'decode_head.projector.kernel_proj.bias',
    }
    for old, new in pairs.items():
        assert torch.equal(sd[new], official['module.' + old]), (old, new)
    assert torch.equal(sd['text_encoder.text.positional_embedding'],
                       official['module.backbone.positional_embedding'][:17])
    assert not any('logit_scale' in k for k in converted)


def test_converter_tool(tmp_path, tiny_cfg):
    root = osp.join(osp.dirname(__file__), '..', '..')
    spec = importlib.util.spec_from_file_location(
        'cris2mmris', osp.join(root, 'tools', 'model_converters', 'cris2mmris.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    official = {'module.' + k: torch.zeros(shape, dtype=torch.long if k.endswith('tracked')
                                           else torch.float)
                for k, shape in official_shapes().items()}
    src, dst = str(tmp_path / 'cris.pth'), str(tmp_path / 'out.pth')
    torch.save({'state_dict': official, 'epoch': 50}, src)
    import sys
    argv, sys.argv = sys.argv, ['cris2mmris', '--src', src, '--dst', dst]
    try:
        tool.main()
    finally:
        sys.argv = argv
    state = torch.load(dst, weights_only=True)['state_dict']
    MODELS.build(mmris_cfg(tiny_cfg)).load_state_dict(state, strict=True)
