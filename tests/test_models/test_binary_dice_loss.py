import pytest
import torch

from mmris.registry import MODELS
from mmris.utils import register_all_modules


def test_binary_dice_by_hand():
    """1 - (2 sum(p t) + eps) / (sum p + sum t + eps) over the valid pixels, per sample,
    averaged; ignored pixels change nothing whatever the logit there."""
    register_all_modules(init_default_scope=False)
    loss = MODELS.build(dict(type='BinaryDiceLoss', loss_weight=2.0, eps=1.0))
    assert loss.loss_name == 'loss_dice'
    logits = torch.tensor([[[[0., 2.], [-1., 5.]]], [[[1., -3.], [0.5, 4.]]]])  # 2, 1, 2, 2
    target = torch.tensor([[[1, 0], [0, 255]], [[0, 1], [1, 1]]])
    p = logits[:, 0].sigmoid()
    expected = []
    for i, keep in enumerate([[0, 1, 2], [0, 1, 2, 3]]):
        pi, ti = p[i].flatten()[keep], (target[i].flatten()[keep] == 1).float()
        expected.append(1 - (2 * (pi * ti).sum() + 1) / (pi.sum() + ti.sum() + 1))
    value = loss(logits, target, ignore_index=255)
    torch.testing.assert_close(value, 2.0 * torch.stack(expected).mean())
    changed = logits.clone()
    changed[0, 0, 1, 1] = -40.  # the ignored pixel
    torch.testing.assert_close(loss(changed, target, ignore_index=255), value)
    sure = (target.float() * 2 - 1)[:, None] * 30  # confident and right
    assert loss(sure, target.clamp(max=1), ignore_index=255) < 0.05 < value


def test_cris_head_sums_bce_and_dice():
    """A CRIS-style head with two loss_decode entries reports both, and the Dice one is the
    loss above on the head's logits."""
    from mmengine.config import Config
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile('configs/cris/cris_tiny_1xb16-10e_toy-128.py')
    cfg.model.decode_head.loss_decode = [
        dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        dict(type='BinaryDiceLoss', loss_weight=1.0)]
    head = MODELS.build(cfg.model).decode_head
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for i in range(2):
        s = SegDataSample()
        gt = torch.zeros(1, 128, 128, dtype=torch.long)
        gt[:, 20 + 10 * i:60, 30:90] = 1
        s.gt_sem_seg = PixelData(data=gt)
        samples.append(s)
    logits = torch.randn(2, 1, 32, 32)
    losses = head.loss_by_feat(logits, samples)
    assert set(losses) >= {'loss_ce', 'loss_dice'}
    up = torch.nn.functional.interpolate(logits, (128, 128), mode='bilinear',
                                         align_corners=head.align_corners)
    target = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    ref = MODELS.build(dict(type='BinaryDiceLoss'))(up, target)
    torch.testing.assert_close(losses['loss_dice'], ref)
    assert losses['loss_dice'] > 0.1
