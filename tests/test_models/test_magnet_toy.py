"""The toy MagNet config (configs/magnet/magnet_toy_1xb16-6e_toy-128.py) on a generated toy
set and its tiny BERT: every width lines up, the losses train, predictions come back at the
evaluated size."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmris.datasets.toy import TOY_BERT_DIR, generate_toy_refer
from mmris.registry import DATASETS, MODELS
from mmris.utils import register_all_modules

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'magnet',
                  'magnet_toy_1xb16-6e_toy-128.py')


@pytest.fixture(scope='module')
def toy_cfg(tmp_path_factory) -> Config:
    """The config, pointed at a small generated toy set (and its ``bert-tiny``)."""
    pytest.importorskip('transformers')
    register_all_modules()
    root = str(tmp_path_factory.mktemp('toy'))
    generate_toy_refer(root, seed=0, num_images=dict(train=1, val=1))
    cfg = Config.fromfile(CONFIG)
    cfg.model.text_encoder.pretrained = osp.join(root, TOY_BERT_DIR)
    for key in ('train_dataloader', 'val_dataloader'):
        cfg[key].dataset.data_root = root
    return cfg


def _batch(model, cfg: Config, phase: str) -> dict:
    """Both samples (1 image, 2 refs) of a split through the config's pipeline."""
    ds = DATASETS.build(cfg[f'{phase}_dataloader'].dataset)
    return model.data_preprocessor(pseudo_collate([ds[0], ds[1]]), phase == 'train')


def test_magnet_toy_trains_and_predicts(toy_cfg):
    torch.manual_seed(0)
    cfg = toy_cfg.model.copy()
    # every word masked: the Mask Grounding loss is never empty, whatever the RNG state
    cfg.auxiliary_head = dict(cfg.auxiliary_head, mask_ratio=1.0)
    model = MODELS.build(cfg)
    model.init_weights()
    bert = model.text_encoder
    assert bert.num_layers == 4 and model.backbone.text_stages == (1, 2, 3, 4)
    batch = _batch(model, toy_cfg, 'train')
    samples = batch['data_samples']
    text = model.extract_text(samples)
    n_words = torch.tensor([len(s.text.split()) + 2 for s in samples])  # [CLS] ... [SEP]
    assert torch.equal((~text.mask).sum(1), n_words)  # none cut at word_len
    assert not (text.tokens == bert.tokenizer.unk_token_id).any()

    losses = model(**batch, mode='loss')
    for key in ('decode.loss_mask', 'decode.loss_dice', 'decode.loss_cls', 'decode.loss_p2p',
                'decode.loss_p2t', 'decode.loss_mask_d0', 'aux.loss_mg'):
        assert torch.isfinite(losses[key]), key
    loss, _ = model.parse_losses(losses)
    loss.backward()
    grads = {
        'BERT layer 3 (in the last stage)': bert.bert.encoder.layer[3].output.dense.weight,
        'BERT word embeddings': bert.bert.embeddings.word_embeddings.weight,
        'first CAM': next(model.backbone.fusions[0].parameters()),
        'pixel decoder': model.decode_head.pixel_decoder.mask_features.weight,
        'Mask Grounding classifier': model.auxiliary_head[0].classifier.weight,
    }
    for name, param in grads.items():
        assert param.grad is not None and param.grad.abs().sum() > 0, name

    model.eval()
    batch = _batch(model, toy_cfg, 'val')
    with torch.no_grad():
        # LAVT's toy protocol: scored at the 128 x 128 input, as the resized ground truth
        for out in model(**batch, mode='predict'):
            assert out.pred_sem_seg.shape == out.gt_sem_seg.shape == (128, 128)
        model.test_cfg['output_size'] = 'original'  # the resize undone
        for out in model(**batch, mode='predict'):
            assert out.pred_sem_seg.shape == tuple(out.ori_shape) != (128, 128)
            assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 1}
