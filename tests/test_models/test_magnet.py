"""MagNet: CAM shapes and gates, interleaved BERT stages, pixel decoder, head losses, CAL."""
import pytest
import torch

from mmris.models.layers import CrossModalAlignment, MSDeformAttnPixelDecoder
from mmris.models.losses import CrossModalAlignmentLoss
from mmris.registry import MODELS
from .helpers import make_sample, model_cfg


def test_cam_shapes_and_closed_gates():
    cam = CrossModalAlignment(32, 16)
    x, words = torch.rand(2, 36, 32), torch.rand(2, 5, 16)
    mask = torch.tensor([[False] * 5, [False, False, True, True, True]])
    x2, out, w2 = cam(x, (6, 6), words, mask)
    assert out.shape == x.shape and torch.equal(x2, x) and torch.equal(w2, words)


def test_pixel_decoder_shapes():
    dec = MSDeformAttnPixelDecoder([8, 16, 32, 64], 32, 32, num_layers=1, num_heads=4,
                                   feedforward_channels=64)
    feats = [torch.rand(1, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate([8, 16, 32, 64])]
    pixel, maps = dec(feats)
    assert pixel.shape == (1, 32, 16, 16) and [m.shape[-1] for m in maps] == [2, 4, 8, 16]


def test_cal_terms():
    loss = CrossModalAlignmentLoss()
    y, t = torch.randn(2, 8, 6, 6, requires_grad=True), torch.randn(2, 8)
    gt = torch.zeros(2, 12, 12, dtype=torch.long)
    gt[:, :6] = 1
    p2p, p2t = loss(y, t, gt)
    assert p2p > 0 and p2t > 0
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
