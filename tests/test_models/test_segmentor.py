import copy

import pytest
import torch
import torch.nn as nn

from mmris.models.utils import TextFeatures
from mmris.registry import MODELS
from .helpers import make_sample

TEXTS = ['red circle on the left', 'blue square', '', 'the small green triangle at the top']


def _inputs_and_samples(n=4, hw=(128, 128)):
    torch.manual_seed(0)
    gts = torch.zeros(n, 1, *hw, dtype=torch.long)
    for i in range(n):  # a different box per sample
        gts[i, :, 10 * i:10 * i + 40, 20:60 + 10 * i] = 1
    samples = [make_sample(TEXTS[i % len(TEXTS)], img_shape=hw, gt=gts[i]) for i in range(n)]
    return torch.randn(n, 3, *hw), samples


@pytest.fixture(scope='module')
def model(tiny_cfg):
    torch.manual_seed(0)
    m = MODELS.build(tiny_cfg)
    m.init_weights()
    return m


def test_modes_shapes(model):
    inputs, samples = _inputs_and_samples()
    model.train()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'decode.loss_ce', 'decode.iou_seg'}
    assert losses['decode.loss_ce'].ndim == 0 and torch.isfinite(losses['decode.loss_ce'])
    model.eval()
    with torch.no_grad():
        logits = model(inputs, samples, mode='tensor')
        assert logits.shape == (4, 1, 32, 32)  # stride 4
        preds = model(inputs, copy.deepcopy(samples), mode='predict')
    for p in preds:
        assert p.pred_sem_seg.data.shape == (1, 96, 128)  # ori_shape
        assert p.pred_sem_seg.data.dtype == torch.long
        assert set(p.pred_sem_seg.data.unique().tolist()) <= {0, 1}
        assert p.seg_logits.data.shape == (1, 96, 128)
        assert p.seg_logits.data.dtype == torch.float32


def test_loss_falls_on_fixed_batch(tiny_cfg):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg).train()
    inputs, samples = _inputs_and_samples()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for _ in range(8):
        loss = model(inputs, samples, mode='loss')['decode.loss_ce']
        optim.zero_grad()
        loss.backward()
        optim.step()
        history.append(loss.item())
    assert history[-1] < 0.6 * history[0], history


def test_loss_target_is_gt_resized_nearest(model):
    """Logits equal to +-big where the 32x32 nearest-resized gt is 1 / 0 give ~zero loss."""
    inputs, samples = _inputs_and_samples()
    gt = torch.stack([s.gt_sem_seg.data for s in samples]).float()
    target = nn.functional.interpolate(gt, (32, 32), mode='nearest')
    good = model.decode_head.loss_by_feat(target * 40 - 20, samples)
    bad = model.decode_head.loss_by_feat(20 - target * 40, samples)
    assert good['loss_ce'] < 1e-6 < 10 < bad['loss_ce']
    assert good['iou_seg'] == 100


def test_loss_resolution_input(model):
    """``loss_resolution='input'``: the logits are resized (bilinear) to the full-size gt."""
    head = copy.deepcopy(model.decode_head)
    head.loss_resolution = 'input'
    _, samples = _inputs_and_samples()
    gt = torch.stack([s.gt_sem_seg.data for s in samples]).float()  # B, 1, 128, 128
    logits = torch.randn(4, 1, 32, 32)
    up = nn.functional.interpolate(logits, (128, 128), mode='bilinear', align_corners=False)
    expected = nn.functional.binary_cross_entropy_with_logits(up, gt)
    losses = head.loss_by_feat(logits, samples)
    torch.testing.assert_close(losses['loss_ce'], expected)
    # the nearest-resized target is a different (blockier) problem
    head.loss_resolution = 'logits'
    assert abs(head.loss_by_feat(logits, samples)['loss_ce'] - expected) > 1e-4
    with pytest.raises(ValueError, match='loss_resolution'):
        MODELS.build(dict(type='CRISHead', in_channels=32, channels=16, sentence_dim=32,
                          num_layers=0, loss_resolution='full'))


def _fixed_logits(model, logits, no_target=None):
    model = copy.deepcopy(model).eval()
    model._decode = lambda inputs, samples: (logits, no_target)
    return model


@pytest.mark.parametrize('pad', [[16, 16, 0, 0], [4, 44, 10, 6]])
def test_predict_undoes_letterbox(model, pad):
    """Content region positive, padding negative: at the original size all is foreground,
    with the content's exact logits."""
    top, bottom, left, right = pad
    logits = torch.full((2, 1, 128, 128), -5.)
    logits[0, :, top:128 - bottom, left:128 - right] = 3.
    logits[1] = 3.
    samples = [make_sample('a', ori_shape=(48, 56), pad_param=pad),
               make_sample('b', ori_shape=(64, 64), pad_param=None)]
    preds = _fixed_logits(model, logits).predict(torch.zeros(2, 3, 128, 128), samples)
    for p, shape in zip(preds, [(48, 56), (64, 64)]):
        assert p.pred_sem_seg.data.shape == (1, *shape)
        assert (p.pred_sem_seg.data == 1).all()
        assert torch.allclose(p.seg_logits.data, torch.tensor(3.))


def test_predict_geometry_and_threshold(model):
    # left half of the content positive; content = rows 32..96 of a 128 input; ori 2x smaller
    logits = torch.full((1, 1, 32, 32), -5.)  # at stride 4
    logits[..., 8:24, :16] = 5.
    pred = _fixed_logits(model, logits).predict(
        torch.zeros(1, 3, 128, 128),
        [make_sample('a', ori_shape=(32, 64), pad_param=[32, 32, 0, 0])])[0]
    mask = pred.pred_sem_seg.data[0]
    assert mask.shape == (32, 64)
    assert mask[:, :30].all() and not mask[:, 34:].any()
    # threshold on the sigmoid: logit 0 -> 0.5 > 0.35 is foreground
    m = _fixed_logits(model, torch.zeros(1, 1, 32, 32))
    assert m.predict(torch.zeros(1, 3, 128, 128),
                     [make_sample('a')])[0].pred_sem_seg.data.all()
    m.test_cfg['threshold'] = 0.6
    assert not m.predict(torch.zeros(1, 3, 128, 128),
                         [make_sample('a')])[0].pred_sem_seg.data.any()


def test_predict_input_size(tiny_cfg):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['test_cfg'] = dict(output_size='input')
    model = MODELS.build(cfg).eval()
    sample = make_sample('a', ori_shape=(300, 400), img_shape=(96, 128), pad_param=[1, 2, 3, 4])
    with torch.no_grad():
        pred = model.predict(torch.zeros(1, 3, 128, 128), [sample])[0]
    assert pred.pred_sem_seg.data.shape == (1, 96, 128)


@MODELS.register_module(force=True)
class _TextAwareBackbone(nn.Module):
    """Records the text it is given; returns the tiny CLIP's map shapes."""
    takes_text = True

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.seen = None

    def forward(self, x, text):
        self.seen = text
        B = x.shape[0]
        f = self.conv(x).mean()
        return (f + torch.zeros(B, 128, 16, 16), f + torch.zeros(B, 256, 8, 8),
                f + torch.zeros(B, 128, 4, 4))


def test_backbone_text_hook_and_aux_head(tiny_cfg):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['backbone'] = dict(type='_TextAwareBackbone')
    cfg['auxiliary_head'] = copy.deepcopy(cfg['decode_head'])
    model = MODELS.build(cfg).train()
    inputs, samples = _inputs_and_samples(2)
    losses = model(inputs, samples, mode='loss')
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    assert isinstance(model.backbone.seen, TextFeatures)
    assert model.backbone.seen.words.shape == (2, 17, 64)


def _cris_unwarp_reference(logits, ori_hw, input_hw, thr=0.35):
    """CRIS.pytorch's test (engine/engine.py, utils/dataset.py) written out: sigmoid, bicubic
    (align_corners=True) to the input, cv2.warpAffine back with the inverse of
    getTransformMat (bicubic, border 0), > 0.35."""
    import cv2
    import numpy as np
    import torch.nn.functional as F
    (h, w), (H, W) = ori_hw, input_hw
    scale = min(H / h, W / w)
    nh, nw = h * scale, w * scale
    bx, by = (W - nw) / 2., (H - nh) / 2.
    src = np.array([[0, 0], [w, 0], [0, h]], np.float32)
    dst = np.array([[bx, by], [nw + bx, by], [bx, nh + by]], np.float32)
    mat_inv = cv2.getAffineTransform(dst, src)
    prob = F.interpolate(logits.sigmoid(), (H, W), mode='bicubic', align_corners=True)
    out = cv2.warpAffine(prob[0, 0].numpy(), mat_inv, (w, h), flags=cv2.INTER_CUBIC,
                         borderValue=0.)
    return out, out > thr


@pytest.mark.parametrize('ori', [(45, 64), (64, 37), (50, 50)])
def test_predict_cris_unwarp(model, ori):
    torch.manual_seed(1)
    logits = torch.randn(1, 1, 8, 8) * 3  # stride 4 of a 32 x 32 input
    m = _fixed_logits(model, logits)
    m.test_cfg.update(undo_resize='cris')
    pred = m.predict(torch.zeros(1, 3, 32, 32),
                     [make_sample('a', ori_shape=ori, img_shape=(32, 32), pad_param=[0] * 4)])[0]
    prob, mask = _cris_unwarp_reference(logits, ori, (32, 32))
    assert pred.pred_sem_seg.data.shape == (1, *ori)
    assert torch.equal(pred.pred_sem_seg.data[0], torch.from_numpy(mask).long())
    inside = (prob > 1e-5) & (prob < 1 - 1e-5)
    torch.testing.assert_close(pred.seg_logits.data[0].sigmoid()[inside],
                               torch.from_numpy(prob)[inside], atol=1e-5, rtol=1e-4)
    assert pred.postprocess == dict(threshold=0.35, output_size='original',
                                    undo_resize='cris')
    # the bilinear crop-and-resize gives another mask on these logits
    plain = _fixed_logits(model, logits).predict(
        torch.zeros(1, 3, 32, 32), [make_sample('a', ori_shape=ori, img_shape=(32, 32))])[0]
    assert not torch.equal(plain.pred_sem_seg.data, pred.pred_sem_seg.data)


def test_undo_resize_checked(tiny_cfg):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['test_cfg'] = dict(undo_resize='nearest')
    with pytest.raises(ValueError, match='undo_resize'):
        MODELS.build(cfg)
    cfg['test_cfg'] = dict(undo_resize='cris', output_size='input')
    with pytest.raises(ValueError, match='output_size="original"'):
        MODELS.build(cfg)


def test_head_no_target_score(model):
    """A head returning (logits, no-target logits) sets pred_no_target per sample."""
    logits = torch.full((2, 1, 32, 32), 3.)
    m = _fixed_logits(model, logits, no_target=torch.tensor([2., -2.]))
    preds = m.predict(torch.zeros(2, 3, 128, 128), [make_sample('a'), make_sample('b')])
    assert [p.pred_no_target for p in preds] == [True, False]
    m.test_cfg['no_target_thr'] = 0.95  # sigmoid(2) = 0.88
    preds = m.predict(torch.zeros(2, 3, 128, 128), [make_sample('a'), make_sample('b')])
    assert [p.pred_no_target for p in preds] == [False, False]
    assert 'pred_no_target' not in _fixed_logits(model, logits).predict(
        torch.zeros(2, 3, 128, 128), [make_sample('a'), make_sample('b')])[0]
