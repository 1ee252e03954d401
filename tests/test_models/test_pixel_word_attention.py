"""Fusion blocks: LAVT's PWAM + language gate, CoupAlign's WPA."""
import pytest
import torch
import torch.nn.functional as F

from mmris.models.layers import (PWAM, LanguageGate, PixelWordAttention, PWAMFusion,
                                 WordPixelAlignment)
from mmris.models.layers.pixel_word_attention import NormedWordAttention, fusion_blocks


def lavt_attention(att: PixelWordAttention, x, words, word_mask, layer_norm=False):
    """LAVT's SpatialImageLanguageAttention written out (channels-first, masking by
    multiplying keys / values and adding -1e4 to the padded scores); ``layer_norm``:
    MagNet's (lib/backbone.py): ``f_query`` / ``W`` are Linear + LayerNorm instead of
    1x1 Conv1d + InstanceNorm1d."""
    B, HW, _ = x.shape
    keep = (~word_mask).float()[:, None, :]  # B, 1, L
    if layer_norm:
        q = F.layer_norm(F.linear(x, att.query.weight, att.query.bias), (att.key_channels, ),
                         att.query_norm.weight, att.query_norm.bias)  # B, HW, K
    else:
        q = F.instance_norm(F.conv1d(x.transpose(1, 2), att.query.weight[..., None],
                                     att.query.bias)).transpose(1, 2)  # B, HW, K
    k = F.conv1d(words.transpose(1, 2), att.key.weight[..., None], att.key.bias) * keep
    v = F.conv1d(words.transpose(1, 2), att.value.weight[..., None], att.value.bias) * keep
    h, K = att.num_heads, att.key_channels
    q = q.reshape(B, HW, h, K // h).permute(0, 2, 1, 3)
    k = k.reshape(B, h, K // h, -1)
    v = v.reshape(B, h, v.shape[1] // h, -1)
    sim = (q @ k) * K**-.5 + (1e4 * keep[:, None] - 1e4)
    out = (sim.softmax(-1) @ v.permute(0, 1, 3, 2)).permute(0, 2, 1, 3).reshape(B, HW, -1)
    if layer_norm:
        out = F.linear(out, att.out.weight, att.out.bias)
        return F.layer_norm(out, out.shape[-1:], att.out_norm.weight, att.out_norm.bias)
    out = F.conv1d(out.transpose(1, 2), att.out.weight[..., None], att.out.bias)
    return F.instance_norm(out).transpose(1, 2)


def _inputs(B=2, HW=12, C=16, L=5, D=8):
    torch.manual_seed(0)
    x, words = torch.randn(B, HW, C), torch.randn(B, L, D)
    mask = torch.zeros(B, L, dtype=torch.bool)
    mask[0, 3:] = True
    return x, words, mask


def test_pixel_word_attention_matches_lavt():
    x, words, mask = _inputs()
    for heads in (1, 2):
        att = PixelWordAttention(16, 8, 16, 16, 16, num_heads=heads)
        out = att(x, words, mask)
        assert out.shape == (2, 12, 16)
        torch.testing.assert_close(out, lavt_attention(att, x, words, mask), atol=1e-4,
                                   rtol=1e-4)
        # padded words have no say
        words2 = words.clone()
        words2[0, 3:] = 100.
        torch.testing.assert_close(att(x, words2, mask), out)


def test_pixel_word_attention_layer_norm_matches_magnet():
    """``norm='layer'``: MagNet's image-side attention, LayerNorms (learned affine) after
    the query and output projections; 'instance' (LAVT) has no norm parameters."""
    x, words, mask = _inputs()
    lavt = PixelWordAttention(16, 8, 16, 16, 16)
    assert set(lavt.state_dict()) == {f'{n}.{p}' for n in ('query', 'key', 'value', 'out')
                                      for p in ('weight', 'bias')}
    for heads in (1, 2):
        att = PixelWordAttention(16, 8, 16, 16, 16, num_heads=heads, norm='layer')
        for p in att.parameters():  # non-trivial affine LayerNorms
            p.data.normal_()
        out = att(x, words, mask)
        torch.testing.assert_close(out, lavt_attention(att, x, words, mask, layer_norm=True),
                                   atol=1e-4, rtol=1e-4)
        lavt.load_state_dict(att.state_dict(), strict=False)
        assert not torch.allclose(lavt(x, words, mask), out, atol=1e-2)
    # a single pixel (MagNet's 1 x 1 pooled grid): LayerNorm keeps it, instance norm zeroes it
    pwam = PWAM(16, 8, norm='layer')
    assert pwam.attn.out_norm.weight.shape == (16, )
    assert pwam.attn(x[:, :1], words, mask).abs().sum() > 0
    assert PWAM(16, 8).attn(x[:, :1], words, mask).abs().sum() == 0
    with pytest.raises(ValueError, match='norm'):
        PixelWordAttention(16, 8, 16, 16, norm='batch')


def test_pwam_and_gate():
    x, words, mask = _inputs()
    pwam = PWAM(16, 8)
    fused = pwam(x, words, mask)
    assert fused.shape == x.shape
    gate = LanguageGate(16)
    g = gate(fused)
    assert g.shape == x.shape and g.abs().max() < 1 and g.abs().max() > 0
    assert LanguageGate(16, zero_init=True)(fused).abs().max() == 0
    block = PWAMFusion(16, 8)
    nxt, out, w = block(x, (3, 4), words, mask)
    f = block.pwam(x, words, mask)
    torch.testing.assert_close(out, f)  # LAVT: the decoder gets the fused map
    torch.testing.assert_close(nxt, x + block.gate(f) * f)
    assert w is words


def test_wpa_gate_starts_closed_and_opens():
    x, words, mask = _inputs()
    wpa = WordPixelAlignment(16, 8, num_heads=2)
    nxt, out, _ = wpa(x, (3, 4), words, mask)
    torch.testing.assert_close(nxt, x)  # closed gate: the encoder continues with Swin's own
    torch.testing.assert_close(out, wpa.pwam(x, words, mask))  # the decoder: the fused map
    nxt.sum().backward()
    assert wpa.gate.layers[2].weight.grad.abs().sum() > 0  # ... but it learns to open
    wpa.gate.layers[2].weight.data.normal_()
    assert not torch.allclose(wpa(x, (3, 4), words, mask)[0], x)


def test_wpa_attention_choices():
    """WPA = LAVT's fusion (the decoder gets the fused map f, or the aligned feature S);
    its attention is LAVT's (instance norms) or the textbook multi-head one on
    layer-normed pixels."""
    torch.manual_seed(0)
    x, words, mask = _inputs()
    lavt = WordPixelAlignment(16, 8, num_heads=2, zero_init_gate=False)
    assert isinstance(lavt.pwam.attn, PixelWordAttention)
    nxt, out, _ = lavt(x, (3, 4), words, mask)
    f = lavt.pwam(x, words, mask)
    torch.testing.assert_close(nxt, x + lavt.gate(f) * f)
    torch.testing.assert_close(out, f)
    lavt.out_fused = False
    nxt, out, _ = lavt(x, (3, 4), words, mask)
    assert out is nxt
    mha = WordPixelAlignment(16, 8, num_heads=2, attention='mha')
    assert isinstance(mha.pwam.attn, NormedWordAttention)
    ctx = mha.pwam.attn(x, words, mask)
    ref = mha.pwam.attn.attn(F.layer_norm(x, (16, )), words, words, key_padding_mask=mask)
    torch.testing.assert_close(ctx, ref)
    padded = words.clone()
    padded[mask] = 9.
    torch.testing.assert_close(mha.pwam.attn(x, padded, mask), ctx)
    with pytest.raises(ValueError, match='attention'):
        WordPixelAlignment(16, 8, attention='bogus')


def test_fusion_blocks_per_stage_heads():
    blocks = fusion_blocks(dict(type='WordPixelAlignment', num_heads=(1, 2)), [8, 16], 4)
    assert [b.pwam.attn.num_heads for b in blocks] == [1, 2]
    assert [b.pwam.attn.query.in_features for b in blocks] == [8, 16]
    x = torch.randn(1, 4, 8)
    ident = fusion_blocks(None, [8], 4)[0]
    assert ident(x, (2, 2), None, None)[0] is x
