"""The multi-query blocks shared by EAVL and MMNet, and the options they added to CRIS parts."""
import pytest
import torch
import torch.nn.functional as F

from mmris.models.backbones import CLIPImageEncoder
from mmris.models.layers import (MultiQueryEstimator, MultiQueryGenerator,
                                 VisionLanguageAligner)
from mmris.models.layers.multi_query import unpack_neck_outputs
from mmris.models.necks import SentenceGatedFPN
from mmris.models.utils import TextFeatures

MASK = torch.tensor([[False] * 4 + [True] * 2, [False] * 6])  # B, L: True = padding


def _generator(**kwargs):
    torch.manual_seed(0)
    cfg = dict(num_queries=5, in_channels=16, embed_dims=12, text_dims=8, global_dim=6,
               grid_size=(4, 4))
    return MultiQueryGenerator(**{**cfg, **kwargs}).eval()


def test_generator_equations():
    gen = _generator()
    fused, words, glob = torch.randn(2, 16, 4, 4), torch.randn(2, 6, 8), torch.randn(2, 6)
    queries = gen((fused, glob), words, MASK)
    assert queries.shape == (2, 5, 12)
    # eq. 7-10 written out
    f_vd = gen.query_maps(fused).flatten(2)  # B, Nq, hw
    f_tv = F.relu(gen.word_proj(words)) * F.relu(gen.global_proj(glob))[:, None]
    a = F.relu(gen.pixel_attn_proj(f_vd)) @ F.relu(gen.word_attn_proj(f_tv)).transpose(1, 2)
    a = a.masked_fill(MASK[:, None], float('-inf')).softmax(-1)
    assert torch.allclose(a[0, :, 4:], torch.zeros(5, 2))
    assert torch.allclose(queries, a @ F.relu(gen.word_value_proj(f_tv)), atol=1e-5)


def test_generator_padding_global_and_grid():
    gen = _generator()
    fused, words, glob = torch.randn(2, 16, 4, 4), torch.randn(2, 6, 8), torch.randn(2, 6)
    out = gen((fused, glob), words, MASK)
    changed = words.clone()
    changed[0, 4:] = 50.  # padding is ignored ...
    assert torch.allclose(gen((fused, glob), changed, MASK), out, atol=1e-5)
    changed[0, 1] = 50.  # ... real words are not
    assert not torch.allclose(gen((fused, glob), changed, MASK)[0], out[0], atol=1e-3)
    assert not torch.allclose(gen((fused, -glob), words, MASK), out, atol=1e-3)
    with pytest.raises(AssertionError):
        gen(fused, words, MASK)  # the global vector is required
    # another grid is pooled to the one W_vd is made for
    assert gen((torch.randn(2, 16, 8, 6), glob), words, MASK).shape == (2, 5, 12)
    # no global feature (ablation): the words are used as they are
    plain = _generator(global_dim=None)
    assert not hasattr(plain, 'global_proj')
    assert plain.word_attn_proj.in_features == 8
    assert plain(fused, words, MASK).shape == (2, 5, 12)


def test_generator_visual_neck_uses_encoder_maps():
    gen = _generator(visual_neck=dict(type='SentenceGatedFPN', gate=False,
                                      in_channels=(8, 10, 12), out_channels=(8, 16, 16)))
    maps = (torch.randn(2, 8, 8, 8), torch.randn(2, 10, 4, 4), torch.randn(2, 12, 2, 2))
    glob, words = torch.randn(2, 6), torch.randn(2, 6, 8)
    out = gen((torch.randn(2, 16, 4, 4), *maps, glob), words, MASK)
    assert out.shape == (2, 5, 12)
    # the fused map is not used: F'_v comes from the encoder maps
    assert torch.allclose(gen((torch.zeros(2, 16, 4, 4), *maps, glob), words, MASK), out)


def test_unpack_neck_outputs():
    x = torch.randn(2, 4, 3, 3)
    assert unpack_neck_outputs(x) == (x, (), None)
    m, g = torch.randn(2, 4, 6, 6), torch.randn(2, 7)
    fused, maps, glob = unpack_neck_outputs((x, m, g))
    assert fused is x and maps == (m, ) and glob is g
    assert unpack_neck_outputs((x, m))[2] is None


def test_estimator_scores():
    torch.manual_seed(0)
    est = MultiQueryEstimator(12, 4).eval()
    q = torch.randn(3, 7, 12)
    s = est(q)
    assert s.shape == (3, 7)
    assert torch.allclose(s.sum(-1), torch.ones(3)) and (s > 0).all()
    perm = torch.randperm(7)  # a score per query, whatever the order
    assert torch.allclose(est(q[:, perm]), s[:, perm], atol=1e-6)


def test_aligner_modes():
    torch.manual_seed(0)
    x, q = torch.randn(2, 16, 4, 5), torch.randn(2, 6, 12)
    full = VisionLanguageAligner(16, 8, 12, num_heads=4).eval()
    out = full(x, q)
    assert out.shape == (2, 1, 16, 20)
    masks, scores = full.projector(x, q), full.estimator(q)
    assert masks.shape == (2, 6, 16, 20)
    assert torch.allclose(out, (masks * scores[..., None, None]).sum(1, keepdim=True), atol=1e-5)
    # w/o estimator: the plain sum of the masks
    no_est = VisionLanguageAligner(16, 8, 12, num_heads=4, use_estimator=False).eval()
    no_est.projector.load_state_dict(full.projector.state_dict())
    assert no_est.estimator is None
    assert torch.allclose(no_est(x, q), masks.sum(1, keepdim=True), atol=1e-5)
    # w/o multi-mask projector: one kernel from the score-weighted query
    single = VisionLanguageAligner(16, 8, 12, num_heads=4, multi_mask=False).eval()
    single.load_state_dict(full.state_dict())
    expected = full.projector(x, (scores[..., None] * q).sum(1))
    assert torch.allclose(single(x, q), expected, atol=1e-5)
    # different from the full model thanks to eq. 14's relu on the kernels only
    assert not torch.allclose(single(x, q), out, atol=1e-3)
    for m in (full, single):
        m.projector.kernel_act = torch.nn.Identity()
    assert torch.allclose(single(x, q), full(x, q), atol=1e-5)
    with pytest.raises(AssertionError):
        VisionLanguageAligner(16, 8, 12, multi_mask=False, use_estimator=False)


def test_fpn_options_keep_default():
    torch.manual_seed(0)
    inputs = (torch.randn(2, 8, 8, 8), torch.randn(2, 10, 4, 4), torch.randn(2, 12, 2, 2),
              torch.randn(2, 6))
    text = TextFeatures(None, None, None, torch.randn(2, 5))
    kw = dict(in_channels=(8, 10, 12), out_channels=(8, 16, 16), sentence_dim=5)
    gated = SentenceGatedFPN(**kw).eval()
    out = gated(inputs, text)
    assert out.shape == (2, 16, 4, 4)
    assert not torch.allclose(gated(inputs, text._replace(sentence=-text.sentence)), out)
    passing = SentenceGatedFPN(**kw, return_inputs=True).eval()
    passing.load_state_dict(gated.state_dict())
    res = passing(inputs, text)
    assert torch.equal(res[0], out) and all(a is b for a, b in zip(res[1:], inputs))
    plain = SentenceGatedFPN(**kw, gate=False).eval()
    assert not hasattr(plain, 'txt_proj') and plain(inputs).shape == (2, 16, 4, 4)
    assert set(gated.state_dict()) - set(plain.state_dict()) == {
        k for k in gated.state_dict() if k.startswith(('txt_proj', 'f5_norm'))}


@pytest.mark.parametrize('out_indices', [(2, ), (0, 1, 2)])
def test_vit_three_conv_levels(out_indices):
    vit = dict(layers=3, width=32, heads=4, patch_size=16, output_dim=24)
    enc = CLIPImageEncoder(vit, out_indices=out_indices, out_global=True,
                           vit_levels=(8, 16, 20)).eval()
    v2, v3, v4, glob = enc(torch.randn(2, 3, 64, 96))
    assert v2.shape == (2, 8, 8, 12) and v3.shape == (2, 16, 4, 6) and v4.shape == (2, 20, 2, 3)
    assert glob.shape == (2, 24)
    with pytest.raises(AssertionError):
        CLIPImageEncoder('RN50', vit_levels=(8, 16, 20))
