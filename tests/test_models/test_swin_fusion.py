"""SwinFusion: shapes, the fusion hook, official Swin checkpoints."""
import pytest
import torch
from mmseg.models.backbones import SwinTransformer

from mmris.models.backbones import SwinFusion, convert_official_swin
from mmris.models.utils.text_features import TextFeatures

TINY = dict(embed_dims=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), window_size=4,
            drop_path_rate=0.)


def _text(B=2, L=6, D=8):
    mask = torch.zeros(B, L, dtype=torch.bool)
    mask[:, 4:] = True
    return TextFeatures(torch.zeros(B, L, dtype=torch.long), torch.randn(B, L, D), mask,
                        torch.randn(B, D))


def test_shapes_and_text_is_used():
    torch.manual_seed(0)
    m = SwinFusion(fusion=dict(type='PWAMFusion'), text_dims=8, **TINY)
    m.init_weights()
    m.eval()
    x, text = torch.randn(2, 3, 64, 64), _text()
    outs = m(x, text)
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 16), (2, 32, 8, 8), (2, 64, 4, 4),
                                              (2, 128, 2, 2)]
    other = text._replace(words=torch.randn_like(text.words))
    assert not torch.allclose(m(x, other)[-1], outs[-1])
    # padded words do not matter
    padded = text.words.clone()
    padded[:, 4:] = 50.
    torch.testing.assert_close(m(x, text._replace(words=padded))[-1], outs[-1])
    assert SwinFusion.takes_text


def test_closed_wpa_gates_give_plain_swin():
    """Closed gates leave the encoder stream Swin's own (seen in the stage outputs when
    they are the aligned features S, ``out_fused=False``)."""
    torch.manual_seed(0)
    m = SwinFusion(fusion=dict(type='WordPixelAlignment', num_heads=(1, 2, 2, 4),
                               out_fused=False), text_dims=8, **TINY)
    m.init_weights()
    m.eval()
    plain = SwinTransformer(**TINY)
    plain.eval()
    missing, unexpected = plain.load_state_dict(m.state_dict(), strict=False)
    assert not missing and all(k.startswith('fusions.') for k in unexpected)
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(m(x, _text(B=1)), plain(x)):
        torch.testing.assert_close(a, b)


def test_conv_stem_replaces_the_patch_projection():
    """``stem_channels``: 3x3 conv-BN-ReLU layers (stride 2 for the first log2(patch)
    ones) and a 1x1 conv instead of the 4 x 4 linear patch; same token grid, and the
    output depends on pixels beyond the 4 x 4 patch."""
    torch.manual_seed(0)
    m = SwinFusion(fusion=None, stem_channels=(8, 12, 12), **TINY)
    m.init_weights()
    m.eval()
    stem = m.patch_embed.projection
    convs = [mod for mod in stem.modules() if isinstance(mod, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.out_channels) for c in convs] == [
        ((3, 3), (2, 2), 8), ((3, 3), (2, 2), 12), ((3, 3), (1, 1), 12), ((1, 1), (1, 1), 16)]
    x = torch.randn(1, 3, 64, 64)
    tokens, hw = m.patch_embed(x)
    assert tuple(tokens.shape) == (1, 256, 16) and hw == (16, 16)
    shifted = x.clone()
    shifted[:, :, 4:8, 4:8] += 1.  # outside the first 4 x 4 patch, inside its stem field
    assert not torch.allclose(m.patch_embed(shifted)[0][:, 0], tokens[:, 0])
    assert [tuple(o.shape) for o in m(x, _text())][0] == (1, 16, 16, 16)
    with pytest.raises(ValueError, match='stem_channels'):
        SwinFusion(fusion=None, stem_channels=(8, ), **TINY)


def test_fit_windows_to_the_input():
    """``fit_windows_to`` (the official Swin at its ``img_size``): a stage whose map fits
    in a window attends within one unshifted window of the map's size."""
    torch.manual_seed(0)
    kw = dict(TINY, window_size=8)
    m = SwinFusion(fusion=None, fit_windows_to=128, **kw)  # maps 32, 16, 8, 4
    windows = [(b.attn.window_size, b.attn.shift_size) for st in m.stages for b in st.blocks]
    assert windows == [(8, 0), (8, 4), (8, 0), (8, 4), (8, 0), (8, 0), (4, 0), (4, 0)]
    assert m.stages[3].blocks[0].attn.w_msa.relative_position_bias_table.shape == (49, 4)
    m.init_weights()
    m.eval()
    attn = m.stages[2].blocks[1].attn  # 8 x 8 map: the whole map is one window
    q = torch.randn(2, 64, 64)
    torch.testing.assert_close(attn(q, (8, 8)), attn.w_msa(q))
    shifted = SwinFusion(fusion=None, **kw).stages[2].blocks[1].attn  # mmseg: shifted
    shifted.w_msa.load_state_dict(attn.w_msa.state_dict())
    assert shifted.shift_size == 4 and not torch.allclose(shifted(q, (8, 8)), attn.w_msa(q))
    outs = m(torch.randn(1, 3, 128, 128), _text(B=1))
    assert [o.shape[-1] for o in outs] == [32, 16, 8, 4]


def _official_patch_merging(x, H, W, weight, norm_w, norm_b):
    """microsoft/Swin-Transformer PatchMerging: concat x0..x3, LN, reduction."""
    x = x.view(x.shape[0], H, W, -1)
    x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    x = torch.nn.functional.layer_norm(x.flatten(1, 2), (x.shape[-1],), norm_w, norm_b)
    return x @ weight.T


def test_convert_official_patch_merging():
    torch.manual_seed(0)
    m = SwinTransformer(**TINY)
    m.eval()
    C = 16
    official = {'layers.0.downsample.reduction.weight': torch.randn(2 * C, 4 * C),
                'layers.0.downsample.norm.weight': torch.randn(4 * C),
                'layers.0.downsample.norm.bias': torch.randn(4 * C),
                'head.weight': torch.zeros(3, 8), 'norm.weight': torch.ones(8),
                'layers.0.blocks.1.attn_mask': torch.zeros(1)}
    conv = convert_official_swin(official)
    assert set(conv) == {'stages.0.downsample.reduction.weight',
                         'stages.0.downsample.norm.weight', 'stages.0.downsample.norm.bias'}
    m.load_state_dict(conv, strict=False)
    x = torch.randn(2, 8 * 8, C)
    ours, hw = m.stages[0].downsample(x, (8, 8))
    ref = _official_patch_merging(x, 8, 8, official['layers.0.downsample.reduction.weight'],
                                  official['layers.0.downsample.norm.weight'],
                                  official['layers.0.downsample.norm.bias'])
    assert hw == (4, 4)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def _to_official(state):
    """mmseg Swin keys -> official ones (the inverse of convert_official_swin)."""
    out = {}
    for k, v in state.items():
        if k.startswith('fusions.'):
            continue
        if '.downsample.' in k:  # Unfold order -> official (the permutation is its own inverse)
            c = v.shape[-1] // 4
            v = v.reshape(*v.shape[:-1], c, 4).transpose(-1, -2)[..., [0, 2, 1, 3], :]
            v = v.reshape(*v.shape[:-2], 4 * c)
        k = k.replace('stages.', 'layers.').replace('attn.w_msa.', 'attn.')
        k = k.replace('ffn.layers.0.0.', 'mlp.fc1.').replace('ffn.layers.1.', 'mlp.fc2.')
        out[k.replace('patch_embed.projection.', 'patch_embed.proj.')] = v
    out['head.weight'] = torch.zeros(10, 128)
    return out


def test_load_official_checkpoint(tmp_path):
    torch.manual_seed(0)
    src = SwinFusion(fusion=None, **TINY)
    src.init_weights()
    for p in src.parameters():
        p.data.normal_()
    path = tmp_path / 'swin_official.pth'
    torch.save({'model': _to_official(src.state_dict())}, path)
    dst = SwinFusion(fusion=dict(type='WordPixelAlignment', num_heads=1, out_fused=False),
                     text_dims=8, pretrained=str(path), **TINY)  # closed gates: Swin's maps
    dst.init_weights()
    src.eval(), dst.eval()
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(dst(x, _text(B=1)), src(x, _text(B=1))):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    # another window size: the relative position tables are resized
    other = SwinFusion(fusion=None, pretrained=str(path), **dict(TINY, window_size=2))
    other.init_weights()
    assert other.stages[0].blocks[0].attn.w_msa.relative_position_bias_table.shape == (9, 1)


def test_out_norms_off_hands_on_the_fusion_outputs():
    """``out_norms=False`` (MagNet): the stage outputs are the fusion blocks' own, without
    Swin's ``norm{i}``, which then hold no parameters; True (default) layer-norms them."""
    torch.manual_seed(0)
    normed = SwinFusion(fusion=dict(type='PWAMFusion'), text_dims=8, **TINY)
    normed.init_weights()
    for i in range(4):  # non-trivial output norms
        getattr(normed, f'norm{i}').weight.data.normal_()
    plain = SwinFusion(fusion=dict(type='PWAMFusion'), text_dims=8, out_norms=False, **TINY)
    missing, unexpected = plain.load_state_dict(normed.state_dict(), strict=False)
    assert not missing and sorted({k.split('.')[0] for k in unexpected}) == [
        f'norm{i}' for i in range(4)]
    normed.eval(), plain.eval()
    x, text = torch.randn(1, 3, 64, 64), _text(B=1)
    fused = []
    hooks = [f.register_forward_hook(lambda m, args, out: fused.append(out[1]))
             for f in plain.fusions]
    outs = plain(x, text)
    for h in hooks:
        h.remove()
    for i, (a, b, f) in enumerate(zip(normed(x, text), outs, fused)):
        torch.testing.assert_close(b.flatten(2).transpose(1, 2), f)  # B, HW, C as fused
        norm = getattr(normed, f'norm{i}')
        ref = torch.nn.functional.layer_norm(b.permute(0, 2, 3, 1), b.shape[1:2], norm.weight,
                                             norm.bias, norm.eps).permute(0, 3, 1, 2)
        torch.testing.assert_close(a, ref, atol=1e-5, rtol=1e-5)
    # mmseg's _freeze_stages looks the (identity) norms up
    frozen = SwinFusion(fusion=None, out_norms=False, frozen_stages=2, **TINY)
    frozen.train()
    assert not any(p.requires_grad for p in frozen.stages[0].parameters())


def test_sine_pos_adds_the_2d_table_to_the_patch_embeddings():
    """``sine_pos=True``: the first stage sees the patch embeddings plus ``sine_pos_2d`` of
    the patch grid (any input size, no parameters); False: the embeddings as they are."""
    from mmris.models.layers.positional_encoding import sine_pos_2d
    torch.manual_seed(0)
    plain = SwinFusion(fusion=None, **TINY)
    sine = SwinFusion(fusion=None, sine_pos=True, **TINY)
    assert sine.load_state_dict(plain.state_dict()).missing_keys == []
    plain.eval(), sine.eval()
    seen = {}
    for name, m in (('plain', plain), ('sine', sine)):
        m.stages[0].blocks[0].register_forward_hook(
            lambda mod, args, out, name=name: seen.setdefault(name, args[0]))
    x = torch.randn(1, 3, 64, 96)
    assert not torch.allclose(sine(x, _text(B=1))[-1], plain(x, _text(B=1))[-1])
    torch.testing.assert_close(seen['sine'] - seen['plain'], sine_pos_2d(16, 16, 24)[None])

