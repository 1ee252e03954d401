"""Mask Grounding auxiliary head: masking rate, centres, CRIS (CLIP BPE) and BERT vocabularies."""
import pytest
import torch
import torch.nn.functional as F

from mmris.models.heads.mask_grounding_head import mask_centres, random_word_mask
from mmris.registry import MODELS
from .helpers import make_sample, model_cfg

MG = dict(type='MaskGroundingHead', embed_dims=32, num_layers=1, num_heads=4,
          feedforward_channels=64, pool_size=4)


def _batch(texts, size=64):
    gt = torch.zeros(1, size, size, dtype=torch.long)
    gt[:, 8:24, 32:64] = 1
    return torch.rand(len(texts), 3, size, size), [
        make_sample(t, img_shape=(size, size), gt=gt.clone()) for t in texts]


def test_masking_rate_and_specials():
    torch.manual_seed(0)
    tokens = torch.randint(5, 100, (400, 20))
    tokens[:, 0], tokens[:, 10] = 1, 2  # start / end ids
    pad = torch.zeros(400, 20, dtype=torch.bool)
    pad[:, 11:] = True
    picked = random_word_mask(tokens, pad, [1, 2], 0.15)
    assert not picked[pad].any() and not picked[:, [0, 10]].any()
    assert abs(picked[:, 1:10].float().mean().item() - 0.15) < 0.02


def test_mask_centres():
    gt = torch.zeros(2, 10, 20, dtype=torch.long)
    gt[0, :5, 10:] = 1  # top right quarter
    gt[0, 0, 0] = 255  # ignored pixels are not object
    c = mask_centres(gt)
    assert torch.allclose(c[0], torch.tensor([0.75, 0.25]))
    assert torch.allclose(c[1], torch.tensor([0.5, 0.5]))  # empty mask


def test_cris_with_mask_grounding():
    cfg = model_cfg('cris_tiny')
    cfg['auxiliary_head'] = dict(MG, in_channels=128, text_dims=64)
    model = MODELS.build(cfg)
    head = model.auxiliary_head[0]
    assert head.text_encoder is model.text_encoder
    assert head.classifier.out_features == 49408 and head.mask_id == 49406
    assert not any(k.startswith('auxiliary_head.0._encoder') for k in model.state_dict())
    head.mask_ratio = 1.0  # every word masked: a loss for sure
    inputs, samples = _batch(['the red car on the left', 'a man'])
    losses = model.loss(inputs, samples)
    assert losses['aux.loss_mg'] > 0 and 'decode.loss_ce' in losses
    losses['aux.loss_mg'].backward()
    assert model.text_encoder.text.token_embedding.weight.grad is not None
    model.eval()  # inference does not touch the head
    assert model(inputs, samples, mode='tensor').shape[1] == 1


def test_bert_vocabulary(tmp_path):
    pytest.importorskip('transformers')
    from .test_bert_text_encoder import VOCAB, write_tiny_bert
    enc = MODELS.build(dict(type='BERTTextEncoder', pretrained=write_tiny_bert(tmp_path),
                            word_len=8, load_weights=False))
    head = MODELS.build(dict(MG, in_channels=16, text_dims=32, mask_ratio=1.0))
    head.bind_text_encoder(enc)
    assert head.classifier.out_features == len(VOCAB) and head.mask_id == VOCAB.index('[MASK]')
    text = enc(['the man on the left', 'red car'])
    _, samples = _batch(['', ''])
    losses = head.loss([torch.rand(2, 16, 8, 8)], text, samples)
    assert losses['loss_mg'] > 0 and 0 <= losses['acc_mg'] <= 100


def test_loss_is_the_cross_entropy_of_the_masked_logits(tmp_path):
    """The loss classifies only the masked positions: the same value as the full B, L, V
    logits of ``forward`` read at those positions."""
    pytest.importorskip('transformers')
    from .test_bert_text_encoder import write_tiny_bert
    enc = MODELS.build(dict(type='BERTTextEncoder', pretrained=write_tiny_bert(tmp_path),
                            word_len=8, load_weights=False)).eval()
    head = MODELS.build(dict(MG, in_channels=16, text_dims=32, mask_ratio=0.5)).eval()
    head.bind_text_encoder(enc)
    text = enc(['the man on the left', 'red car'])
    _, samples = _batch(['', ''])
    x = [torch.rand(2, 16, 8, 8)]
    torch.manual_seed(3)
    loss = head.loss(x, text, samples)['loss_mg']
    torch.manual_seed(3)
    picked = random_word_mask(text.tokens, text.mask, head.specials, 0.5)
    assert picked.any() and not picked.all()
    gt = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    logits = head(x, text.tokens.masked_fill(picked, head.mask_id), text.mask, mask_centres(gt))
    assert logits.shape == (2, text.tokens.shape[1], head.classifier.out_features)
    ref = F.cross_entropy(logits[picked], text.tokens[picked])
    torch.testing.assert_close(loss, ref)
