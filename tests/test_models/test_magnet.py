"""MagNet: CAM shapes and gates, interleaved BERT stages, pixel decoder, head losses, CAL."""
import pytest
import torch
import torch.nn.functional as F

from mmris.models.heads import MagNetHead
from mmris.models.layers import (CrossModalAlignment, MSDeformAttnPixelDecoder,
                                 WordPixelAttention)
from mmris.models.losses import CrossModalAlignmentLoss
from mmris.registry import MODELS
from .helpers import make_sample, model_cfg


def test_cam_shapes_and_closed_gates():
    cam = CrossModalAlignment(32, 16)
    x, words = torch.rand(2, 36, 32), torch.rand(2, 5, 16)
    mask = torch.tensor([[False] * 5, [False, False, True, True, True]])
    x2, out, w2 = cam(x, (6, 6), words, mask)
    assert out.shape == x.shape and torch.equal(x2, x) and torch.equal(w2, words)


def official_word_attention(att, x, words, ext_mask, mask_queries=True):
    """bert/multimodal_bert.py's SpatialImageLanguageAttention written out (1x1 Conv1d,
    InstanceNorm1d); ``ext_mask`` is BERT's extended mask (B, 1, 1, L: 0 for the words,
    -1e4 for the padding), by which the official code multiplies the queries before adding
    ``1e4 * ext_mask - 1e4`` to the scores; ``mask_queries=False``: neither (a per-row
    constant, but one that rounds the padding rows' scores away in float32)."""
    B, HW, _ = x.shape
    L, D, h = words.shape[1], att.query.out_features, att.num_heads
    l_mask = ext_mask.squeeze(1)  # B, 1, L
    q = F.conv1d(words.transpose(1, 2), att.query.weight[..., None], att.query.bias)
    q = (q * l_mask if mask_queries else q).permute(0, 2, 1)  # B, L, D
    k = F.instance_norm(F.conv1d(x.transpose(1, 2), att.key.weight[..., None], att.key.bias))
    v = F.instance_norm(F.conv1d(x.transpose(1, 2), att.value.weight[..., None],
                                 att.value.bias))  # B, D, HW
    k, v = k.reshape(B, h, D // h, HW), v.reshape(B, h, D // h, HW)
    q = q.reshape(B, L, h, D // h).permute(0, 2, 1, 3)
    sim = (q @ k) * D**-.5  # B, h, L, HW
    if mask_queries:
        sim = sim + (1e4 * l_mask.unsqueeze(-1) - 1e4)
    out = (sim.softmax(-1) @ v.permute(0, 1, 3, 2)).permute(0, 2, 1, 3).reshape(B, L, D)
    out = F.conv1d(out.transpose(1, 2), att.out.weight[..., None], att.out.bias)
    return F.instance_norm(out).transpose(1, 2)  # B, L, D


def test_word_attention_and_the_official_query_mask():
    """Default: real word-to-pixel attention; ``bert_mask_queries``: the official code's
    queries multiplied by BERT's additive mask (words get zero queries), exactly (the
    BERT-sized case needs the official score offset too: its float32 rounding changes
    the padding rows, hence, through the instance norm over the words, every row)."""
    for D, C, HW, heads in ((16, 8, 12, 1), (16, 8, 12, 2), (768, 128, 900, 1)):
        torch.manual_seed(0)  # the BERT-sized case: a padding row rounds differently
        x, words = torch.randn(2, HW, C), torch.randn(2, 20, D)
        mask = torch.zeros(2, 20, dtype=torch.bool)
        mask[0, 8:], mask[1, 5:] = True, True
        ext = (mask.float() * -1e4)[:, None, None, :]
        att = WordPixelAttention(D, C, heads)
        with torch.no_grad():
            ours = att(words, x, mask)
            ref = official_word_attention(att, x, words, ext, mask_queries=False)
            torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)
            att.bert_mask_queries = True
            official = att(words, x, mask)
            ref = official_word_attention(att, x, words, ext)
            torch.testing.assert_close(official, ref, atol=1e-4, rtol=1e-4)
        assert not torch.allclose(ours, official, atol=1e-2)
    cam = CrossModalAlignment(32, 16, bert_mask_queries=True)
    assert cam.word_attn.bert_mask_queries
    assert not CrossModalAlignment(32, 16).word_attn.bert_mask_queries


def test_cam_pwams_have_layer_norms():
    """MagNet's image-side PWAMs (full resolution and pooled) normalise with LayerNorms."""
    cam = CrossModalAlignment(32, 16)
    for pwam in [cam.pwam, *cam.pool_fusions]:
        assert isinstance(pwam.attn.query_norm, torch.nn.LayerNorm)
        assert isinstance(pwam.attn.out_norm, torch.nn.LayerNorm)
    lavt_like = CrossModalAlignment(32, 16, pwam_norm='instance')
    assert not any('_norm' in k for k in lavt_like.state_dict())


def test_pixel_decoder_shapes():
    dec = MSDeformAttnPixelDecoder([8, 16, 32, 64], 32, 32, num_layers=1, num_heads=4,
                                   feedforward_channels=64)
    feats = [torch.rand(1, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate([8, 16, 32, 64])]
    pixel, maps = dec(feats)
    assert pixel.shape == (1, 32, 16, 16) and [m.shape[-1] for m in maps] == [2, 4, 8, 16]


def test_pixel_decoder_fpn_levels():
    """``num_encoder_levels=3`` (Mask2Former's default): the deformable layers see only
    the three coarsest maps, the stride-4 map joins by the FPN step; same outputs' shapes."""
    torch.manual_seed(0)
    dec = MSDeformAttnPixelDecoder([8, 16, 32, 64], 32, 32, num_layers=1, num_heads=4,
                                   feedforward_channels=64, num_encoder_levels=3)
    assert len(dec.input_proj) == 3 and len(dec.lateral_convs) == 1
    assert dec.layers[0].attn.num_levels == 3
    feats = [torch.rand(2, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate([8, 16, 32, 64])]
    pixel, maps = dec(feats)
    assert pixel.shape == (2, 32, 16, 16) and [m.shape[-1] for m in maps] == [2, 4, 8, 16]
    # the finest map reaches the mask features only through the FPN step
    other = [feats[0] + 1.] + feats[1:]
    pixel2, maps2 = dec(other)
    torch.testing.assert_close(maps2[:3], maps[:3])
    assert not torch.allclose(pixel2, pixel)
    # and the coarse maps reach it through the encoder
    pixel3, _ = dec(feats[:3] + [feats[3] + 1.])
    assert not torch.allclose(pixel3, pixel)


def test_magnet_head_pixel_points():
    """``pixel_points`` reaches the pixel decoder's deformable attention (offsets and
    weights sized for it) and the head still gives stride-4 logits."""
    kw = dict(pixel_layers=1, num_layers=1, num_heads=4, feedforward_channels=32,
              pixel_feedforward_channels=32, loss_cal=None)
    feats = [torch.rand(1, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate([8, 16, 32, 64])]
    for points in (4, 2):
        head = MagNetHead([8, 16, 32, 64], 8, 32, pixel_points=points, **kw)
        attn = head.pixel_decoder.layers[0].attn
        assert attn.num_points == points
        assert attn.attention_weights.out_features == 4 * 4 * points  # heads x levels x points
        assert head(feats, None).shape == (1, 1, 16, 16)


def test_cal_terms():
    loss = CrossModalAlignmentLoss()
    y, t = torch.randn(2, 8, 6, 6, requires_grad=True), torch.randn(2, 8)
    gt = torch.zeros(2, 12, 12, dtype=torch.long)
    gt[:, :6] = 1
    p2p, p2t = loss(y, t, gt)
    assert p2p > 0 and p2t > 0
    # L_p2t: each pixel's cosine similarity to the text / tau (+ the learned bias) as the
    # logit of "object" (gt resized nearest to the 6 x 6 embeddings: top half)
    sim = torch.nn.functional.cosine_similarity(y, t[..., None, None], dim=1) / loss.tau
    obj = torch.zeros(2, 6, 6)
    obj[:, :3] = 1
    ref = torch.nn.functional.binary_cross_entropy_with_logits(sim + loss.bias, obj)
    torch.testing.assert_close(p2t, loss.p2t_weight * ref)
    (p2p + p2t).backward()
    assert y.grad.abs().sum() > 0


def test_magnet_model(tmp_path):
    pytest.importorskip('transformers')
    from .test_bert_text_encoder import write_tiny_bert
    cfg = model_cfg('magnet_swin-b')
    cfg['data_preprocessor']['size'] = (64, 64)
    cfg['backbone'].update(embed_dims=32, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                           window_size=4, pretrain_img_size=64, text_dims=32,
                           pretrained=None, text_stages=(1, 1, 2, 2))
    cfg['text_encoder'].update(pretrained=write_tiny_bert(tmp_path), word_len=8,
                               load_weights=False)
    cfg['decode_head'].update(in_channels=[32, 64, 128, 256], sentence_dims=32,
                              embed_dims=32, pixel_layers=1, num_layers=2, num_heads=4,
                              feedforward_channels=64, pixel_feedforward_channels=64)
    cfg['auxiliary_head'].update(in_channels=256, text_dims=32, embed_dims=32,
                                 num_layers=1, num_heads=4, feedforward_channels=64)
    model = MODELS.build(cfg)
    model.init_weights()
    gt = torch.zeros(1, 64, 64, dtype=torch.long)
    gt[:, 10:40, 20:50] = 1
    samples = [make_sample(t, ori_shape=(64, 64), img_shape=(64, 64), gt=gt.clone())
               for t in ['the man on the left', 'red car']]
    inputs = torch.rand(2, 3, 64, 64)
    losses = model.loss(inputs, samples)
    for k in ('decode.loss_mask', 'decode.loss_dice', 'decode.loss_cls', 'decode.loss_p2p',
              'decode.loss_p2t', 'decode.loss_mask_d0', 'aux.loss_mg'):
        assert torch.isfinite(losses[k]), k
    model.eval()
    assert model(inputs, samples, mode='tensor').shape == (2, 1, 16, 16)


def test_magnet_head_loss_resolution():
    """'input': the logits resized (bilinear, ``align_corners`` of the head) to the ground
    truth; 'logits': the ground truth resized (nearest) to the logits."""
    torch.manual_seed(0)
    masks = [torch.randn(2, 1, 4, 4, requires_grad=True) for _ in range(2)]  # 2 states
    classes = [torch.randn(2, 2) for _ in range(2)]
    gt = torch.zeros(2, 16, 16, dtype=torch.long)
    gt[:, 5:7, 6:9] = 1  # small: blocky at stride 4
    gt[1, 0] = 255
    samples = [make_sample('a', ori_shape=(16, 16), img_shape=(16, 16), gt=g[None])
               for g in gt]

    def bce(logits, target):
        valid = (target != 255).float()
        loss = F.binary_cross_entropy_with_logits(logits[:, 0], (target == 1).float(),
                                                  reduction='none')
        return 5 * (loss * valid).sum() / valid.sum()

    small = F.interpolate(gt[:, None].float(), (4, 4), mode='nearest')[:, 0]
    cases = [('logits', False, masks[-1], small), ('input', False, F.interpolate(
        masks[-1], (16, 16), mode='bilinear', align_corners=False), gt.float()),
        ('input', True, F.interpolate(masks[-1], (16, 16), mode='bilinear',
                                      align_corners=True), gt.float())]
    for resolution, align, logits, target in cases:
        head = MagNetHead([8, 16, 32, 64], 8, 32, pixel_layers=1, num_layers=1, num_heads=4,
                          feedforward_channels=32, pixel_feedforward_channels=32,
                          loss_cal=None, loss_resolution=resolution, align_corners=align)
        head.forward_all = lambda x: (masks, classes, None)
        losses = head.loss(None, None, samples)
        torch.testing.assert_close(losses['loss_mask'], bce(logits, target))
        assert 'loss_mask_d0' in losses and torch.isfinite(losses['loss_dice'])
    assert head.align_corners
    with pytest.raises(ValueError, match='loss_resolution'):
        MagNetHead([8, 16, 32, 64], 8, 32, loss_cal=None, loss_resolution='full')
