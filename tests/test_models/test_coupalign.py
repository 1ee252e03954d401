"""CoupAlign: mask generator, SMA, pixel contrastive loss, tiny model, the Swin-B config."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmris.models.layers import QueryDecoder
from mmris.models.losses import PixelContrastiveLoss
from mmris.registry import MODELS
from .helpers import make_sample, model_cfg
from .test_bert_text_encoder import write_tiny_bert

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def _gt(size=128):
    gt = torch.zeros(1, size, size, dtype=torch.long)
    gt[:, 30:80, 40:90] = 1
    return gt


def test_query_decoder_shapes_and_masked_attention():
    torch.manual_seed(0)
    dec = QueryDecoder([32, 16, 16], embed_dims=16, num_queries=5, num_layers=4, num_heads=2,
                       feedforward_channels=32)
    feats = [torch.randn(2, 32, 4, 4), torch.randn(2, 16, 8, 8), torch.randn(2, 16, 16, 16)]
    preds = dec(feats, torch.randn(2, 16, 32, 32))
    assert len(preds) == 5
    assert preds[-1]['embeds'].shape == (2, 5, 16)
    assert preds[-1]['masks'].shape == (2, 5, 32, 32)
    masks = torch.full((1, 2, 8, 8), -5.)
    masks[0, 0, :4] = 5.  # query 0: the top half; query 1: nothing -> attends everywhere
    m = dec.attn_mask(masks, (4, 4))
    assert m.shape == (1, 1, 2, 16)
    assert m[0, 0, 0].tolist() == [False] * 8 + [True] * 8
    assert not m[0, 0, 1].any()


def test_pixel_contrastive_as_written():
    loss = PixelContrastiveLoss(tau=0.5, loss_weight=1.0, normalize=False)
    # 1 x 2 x 1 x 3 embeddings: two object pixels, one background pixel
    y = torch.tensor([[1., 0.], [0.8, 0.6], [0., 1.]]).T.reshape(1, 2, 1, 3)
    t = torch.tensor([[[1, 1, 0]]])
    p2n, n2p = loss(y, t)
    pos, neg = y[0, :, 0, :2].T, y[0, :, 0, 2:].T
    proto_p, proto_n = pos.mean(0), neg.mean(0)

    def term(a, p, o):
        e = torch.exp(a @ p / 0.5)
        return -(e / (e + torch.exp(a @ o.T / 0.5).sum(1))).mean()

    torch.testing.assert_close(p2n, term(pos, proto_p, neg))
    torch.testing.assert_close(n2p, term(neg, proto_n, pos))
    # InfoNCE form, normalisation, weight
    logl = PixelContrastiveLoss(tau=0.5, loss_weight=2.0, normalize=False, log=True)
    e = torch.exp(pos @ proto_p / 0.5)
    ref = -torch.log(e / (e + torch.exp(pos @ neg.T / 0.5).sum(1))).mean()
    torch.testing.assert_close(logl(y, t)[0], 2 * ref)


def test_pixel_contrastive_batched_per_image():
    """The loss of a batch is the mean over images of each image's own terms, with
    ignored pixels in neither set; ``max_pixels`` draws that many of each set."""
    torch.manual_seed(0)
    loss = PixelContrastiveLoss(tau=0.2, loss_weight=1.0, max_pixels=64)
    y = torch.randn(3, 4, 6, 6)
    t = torch.zeros(3, 6, 6, dtype=torch.long)
    t[0, :2, :3] = 1
    t[1, 1:5, 1:5] = 1
    t[1, 0, :] = 255  # ignored
    t[2] = 0  # no object: skipped
    p2n, n2p = loss(y, t)
    yn = torch.nn.functional.normalize(y.flatten(2).transpose(1, 2), dim=-1)

    def term(a, o):
        proto = torch.nn.functional.normalize(a.mean(0), dim=0)
        e = torch.exp(a @ proto / 0.2)
        return -(e / (e + torch.exp(a @ o.T / 0.2).sum(1))).mean()

    sets = [(yn[b][t[b].flatten() == 1], yn[b][t[b].flatten() == 0]) for b in range(2)]
    torch.testing.assert_close(p2n, torch.stack([term(p, n) for p, n in sets]).mean())
    torch.testing.assert_close(n2p, torch.stack([term(n, p) for p, n in sets]).mean())
    small = PixelContrastiveLoss(max_pixels=5)
    for b in range(2):  # drawn from the set, without repeats
        members = sets[b][0]
        picked = small._draw(members)
        hits = (picked[:, None] == members[None]).all(-1)
        assert picked.shape == (5, 4) and (hits.sum(1) == 1).all() and hits.any(0).sum() == 5


def test_pixel_contrastive_separates_and_skips():
    loss = PixelContrastiveLoss(tau=0.1)
    t = torch.zeros(1, 16, 16, dtype=torch.long)
    t[:, 4:10, 4:12] = 1
    good = torch.stack([t[0].float(), 1 - t[0].float()])[None]  # object / background apart
    bad = torch.randn(1, 2, 16, 16)
    assert sum(loss(good, t)) < sum(loss(bad, t))
    assert sum(loss(good, t)) > -2 * 0.5 - 1e-6  # each term >= -loss_weight
    empty = torch.zeros(1, 16, 16, dtype=torch.long)
    emb = torch.randn(1, 2, 16, 16, requires_grad=True)
    p2n, n2p = loss(emb, empty)  # no object pixel: nothing to contrast
    assert p2n.item() == 0 and n2p.item() == 0
    (p2n + n2p).backward()
    # embeddings at another resolution than the target
    assert torch.isfinite(sum(loss(torch.randn(2, 4, 8, 8), torch.cat([_gt(32)] * 2)))).all()


def test_sma_weights_proposals():
    head = MODELS.build(dict(type='CoupAlignHead', in_channels=[8, 16, 32, 64], channels=16,
                             sentence_dims=12, embed_dims=16, num_queries=4, num_layers=2,
                             num_heads=2, feedforward_channels=32))
    embeds, masks, sentence = torch.randn(2, 4, 16), torch.randn(2, 4, 8, 8), torch.randn(2, 12)
    out = head.sma(embeds, masks, sentence)
    assert out.shape == (2, 1, 8, 8)
    s = head.sentence_proj(sentence)
    w = (torch.einsum('bnc,bc->bn', head.mask_proj(embeds), s) / 4).softmax(1)
    torch.testing.assert_close(out[:, 0], (w[..., None, None] * masks).sum(1))
    # the same proposals everywhere -> the final mask is that proposal, whatever the sentence
    same = masks[:, :1].expand(-1, 4, -1, -1)
    torch.testing.assert_close(head.sma(embeds, same, sentence), masks[:, :1])


def test_coupalign_toy_losses_and_predict():
    torch.manual_seed(0)
    model = MODELS.build(model_cfg('coupalign_toy'))
    model.init_weights()
    x = torch.randn(2, 3, 128, 128)
    samples = [make_sample('the big red shape', gt=_gt()), make_sample('left one', gt=_gt())]
    losses = model.loss(x, samples)
    assert {'decode.loss_mask', 'decode.loss_mask_d0', 'decode.loss_mask_d2', 'decode.loss_p2n',
            'decode.loss_n2p', 'decode.iou_seg'} <= set(losses)
    assert 'decode.loss_mask_d3' not in losses  # 3 layers: states 0..2 + the final one
    assert -0.5 <= losses['decode.loss_p2n'].item() <= 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.backbone.fusions[2].gate.layers[2].weight.grad.abs().sum() > 0
    assert model.decode_head.sentence_proj.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        logits = model._forward(x, samples)
        out = model.predict(x, samples)
    assert logits.shape == (2, 1, 32, 32)
    assert out[0].pred_sem_seg.shape == (128, 128)


def test_coupalign_swin_b_config_builds(tmp_path):
    """The config users train (`tools/dist_train.sh configs/coupalign_swin-b.py 8`) builds:
    Swin-B window 12 with WPA, BERT (a 768-wide 1-layer stand-in written here), head."""
    pytest.importorskip('transformers')
    cfg = Config.fromfile(osp.join(ROOT, 'configs/coupalign_swin-b.py'))
    assert cfg.model.backbone.window_size == 12 and cfg.model.backbone.embed_dims == 128
    assert cfg.train_dataloader.batch_size == 4  # x 8 GPUs = LAVT's 32
    assert cfg.model.decode_head.num_queries == 16
    assert cfg.model.decode_head.loss_contrastive.tau == 0.1
    model_dict = cfg.model.to_dict()
    model_dict['text_encoder']['pretrained'] = write_tiny_bert(tmp_path, hidden_size=768,
                                                               num_layers=1)
    model = MODELS.build(model_dict)
    n = sum(p.numel() for k, p in model.backbone.named_parameters() if 'fusions' not in k)
    assert 86.5e6 < n < 87.2e6  # Swin-B without classifier (86.7 M) + 4 output norms
    assert [f.pwam.attn.num_heads for f in model.backbone.fusions] == [4, 8, 16, 32]
    model.eval()
    with torch.no_grad():
        logits = model._forward(torch.randn(1, 3, 96, 96), [make_sample('the man on the left')])
    assert logits.shape == (1, 1, 24, 24)
