import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmris.models.layers import (CoordConv, DynamicProjector, MultiheadAttention, VLDecoder,
                                 add_coord, sine_pos_1d, sine_pos_2d)


@pytest.mark.parametrize('kdim', [None, 24])
def test_attention_matches_torch(kdim):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(32, 4, kdim=kdim, vdim=kdim, batch_first=True).eval()
    ours = MultiheadAttention(32, 4, kdim=kdim, vdim=kdim).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)  # same parameter names
    q, kv = torch.randn(2, 7, 32), torch.randn(2, 5, kdim or 32)
    pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    expected = ref(q, kv, kv, key_padding_mask=pad, need_weights=False)[0]
    assert torch.allclose(ours(q, kv, kv, key_padding_mask=pad), expected, atol=1e-5)
    # the mask matters
    assert not torch.allclose(ours(q, kv, kv), expected, atol=1e-3)


def test_sine_positions():
    pe = sine_pos_1d(8, 5)
    assert pe.shape == (5, 8)
    assert torch.allclose(pe[3, 0], torch.tensor(math.sin(3.)))
    assert torch.allclose(pe[3, 1], torch.tensor(math.cos(3.)))
    pe = sine_pos_2d(16, 3, 4)  # first half encodes x (column), second half y (row)
    assert pe.shape == (12, 16)
    row, col = 2, 3
    assert torch.allclose(pe[row * 4 + col, 0], torch.tensor(math.sin(col)))
    assert torch.allclose(pe[row * 4 + col, 8], torch.tensor(math.sin(row)))
    assert torch.allclose(pe[row * 4 + col, 9], torch.tensor(math.cos(row)))
    with pytest.raises(ValueError):
        sine_pos_2d(6, 2, 2)


def detr_sine_pos(dims, height, width):
    """DETR / Mask2Former's ``PositionEmbeddingSine(dims // 2, normalize=True)`` of an
    unpadded H x W map written out, flattened row-major: H * W, dims."""
    npf = dims // 2
    ones = torch.ones(1, height, width)
    y = ones.cumsum(1, dtype=torch.float32)
    x = ones.cumsum(2, dtype=torch.float32)
    y = y / (y[:, -1:, :] + 1e-6) * 2 * math.pi
    x = x / (x[:, :, -1:] + 1e-6) * 2 * math.pi
    dim_t = torch.arange(npf, dtype=torch.float32)
    dim_t = 10000**(2 * torch.div(dim_t, 2, rounding_mode='floor') / npf)
    px, py = x[..., None] / dim_t, y[..., None] / dim_t
    px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=4).flatten(3)
    py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=4).flatten(3)
    return torch.cat((py, px), dim=3)[0].flatten(0, 1)


def test_sine_positions_detr_normalized():
    for dims, h, w in ((16, 3, 5), (32, 7, 4), (256, 15, 15)):
        torch.testing.assert_close(sine_pos_2d(dims, h, w, normalize=True),
                                   detr_sine_pos(dims, h, w))
    assert not torch.allclose(sine_pos_2d(16, 3, 5), detr_sine_pos(16, 3, 5))


def test_coord_conv():
    x = add_coord(torch.zeros(2, 3, 4, 5))
    assert x.shape == (2, 5, 4, 5)
    assert torch.equal(x[0, 3, 0], torch.linspace(-1, 1, 5))  # x varies along the width
    assert torch.equal(x[1, 4, :, 0], torch.linspace(-1, 1, 4))  # y along the height
    assert CoordConv(3, 8)(torch.randn(2, 3, 4, 5)).shape == (2, 8, 4, 5)


def test_dynamic_projector_one_and_many_kernels():
    torch.manual_seed(0)
    proj = DynamicProjector(in_channels=16, channels=8, query_dim=12).eval()
    x, queries = torch.randn(3, 16, 5, 6), torch.randn(3, 4, 12)
    many = proj(x, queries)
    assert many.shape == (3, 4, 20, 24)
    for n in range(4):  # N kernels = N single-kernel projections
        assert torch.allclose(proj(x, queries[:, n]), many[:, n:n + 1], atol=1e-5)
    # sample b's kernel acts on sample b's pixels only
    pix = proj.pixel_proj(x)
    params = proj.kernel_proj(queries[1, 2])
    manual = F.conv2d(pix[1:2], params[:-1].reshape(1, 8, 3, 3), params[-1:], padding=1)
    assert torch.allclose(many[1, 2], manual[0, 0], atol=1e-5)


def test_decoder_uses_words_and_mask():
    torch.manual_seed(0)
    dec = VLDecoder(num_layers=2, embed_dims=32, num_heads=4, feedforward_channels=64,
                    dropout=0., text_dims=16).eval()
    vis, words = torch.randn(2, 32, 3, 4), torch.randn(2, 5, 16)
    mask = torch.tensor([[False] * 3 + [True] * 2] * 2)
    out = dec(vis, words, mask)
    assert out.shape == vis.shape
    changed = words.clone()
    changed[:, 3:] = 100.  # padded words are ignored ...
    assert torch.allclose(dec(vis, changed, mask), out, atol=1e-5)
    changed[:, 0] = 100.  # ... real ones are not
    assert not torch.allclose(dec(vis, changed, mask), out, atol=1e-3)
