import hashlib
import json
import os
import os.path as osp
import pickle
import re

import pytest

from mmris.datasets import ReferDataset, generate_toy_refer, toy_vocabulary, write_toy_bert
from mmris.datasets.toy import TOY_BERT_DIR, TOY_BERT_SPECIALS

SPATIAL = re.compile(r'\b(left|right|leftmost|rightmost|top|bottom)\b')
SMALL = dict(train=12, val=6, testA=5, testB=5)


def digest(root):
    h = hashlib.sha1()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(osp.join(dirpath, name), 'rb') as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def test_toy_layout_determinism_and_words(tmp_path):
    report = generate_toy_refer(str(tmp_path / 'a'), seed=3, num_images=SMALL)
    generate_toy_refer(str(tmp_path / 'b'), seed=3, num_images=SMALL)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b')
    generate_toy_refer(str(tmp_path / 'c'), seed=4, num_images=SMALL)
    assert digest(tmp_path / 'a') != digest(tmp_path / 'c')
    root = str(tmp_path / 'a')
    assert osp.isfile(osp.join(root, 'toyref', 'instances.json'))
    assert sorted(os.listdir(osp.join(root, TOY_BERT_DIR))) == ['config.json', 'vocab.txt']
    assert len(os.listdir(osp.join(root, 'images'))) == sum(SMALL.values())
    with open(osp.join(root, 'toyref', 'refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    assert {r['split'] for r in refs} == set(SMALL)
    sent_ids = [s['sent_id'] for r in refs for s in r['sentences']]
    assert len(sent_ids) == len(set(sent_ids))
    for r in refs:
        for s in r['sentences']:
            has_spatial = bool(SPATIAL.search(s['sent']))
            if r['split'] == 'testA':
                assert not has_spatial, s
            if r['split'] == 'testB':
                assert has_spatial, s
            assert s['sent'] == s['sent'].lower() and 1 <= len(r['sentences']) <= 3
    for split, n in SMALL.items():
        assert report['splits'][split]['refs'] == 2 * n
        ds = ReferDataset(data_root=root, ann_file='toyref/instances.json',
                          split_file='toyref/refs(unc).p', split=split,
                          data_prefix=dict(img_path='images/'), text_mode='all')
        assert len(ds) == report['splits'][split]['sentences']
        # a model that ignores the sentence: the union of all objects scores far below 40 oIoU
        assert report['blind'][split]['union_oIoU'] < 40


def test_toy_config_pipelines(tmp_path):
    from mmengine.config import Config

    from mmris.registry import DATASETS
    generate_toy_refer(str(tmp_path), seed=0, num_images=dict(train=3, val=2))
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                                   'datasets', 'toy_refer.py'))
    for phase in ('train', 'val'):
        ds_cfg = cfg[f'{phase}_dataloader'].dataset
        ds_cfg.data_root = str(tmp_path)
        ds = DATASETS.build(ds_cfg)
        packed = ds[0]
        sample = packed['data_samples']
        assert tuple(packed['inputs'].shape) == (3, 128, 128)
        assert sample.pad_param.sum() > 0  # about 128 x 96: the letterbox pads
        gt_shape = (128, 128) if phase == 'train' else sample.ori_shape
        assert tuple(sample.gt_sem_seg.data.shape[1:]) == tuple(gt_shape)
        assert sample.text and sample.gt_sem_seg.data.sum() > 0
    assert cfg.val_evaluator.type == 'ReferMetric'


def test_blind_bound_through_metric(tmp_path):
    """The generator's sentence-blind figure equals ReferMetric's oIoU of predicting the union
    of all objects of the image."""
    import torch
    from mmengine.structures import PixelData

    from mmris.datasets.transforms import decode_segmentation
    from mmris.evaluation import ReferMetric
    report = generate_toy_refer(str(tmp_path), seed=1, num_images=dict(val=20))
    with open(osp.join(tmp_path, 'toyref', 'instances.json')) as f:
        coco = json.load(f)
    ds = ReferDataset(data_root=str(tmp_path), ann_file='toyref/instances.json',
                      split_file='toyref/refs(unc).p', split='val',
                      data_prefix=dict(img_path='images/'),
                      pipeline=[dict(type='LoadReferAnnotation'),
                                dict(type='PackReferInputs')])
    metric = ReferMetric()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        union = sum(decode_segmentation(a['segmentation'], info['height'], info['width'])
                    for a in coco['annotations'] if a['image_id'] == info['image_id'])
        info['img'] = union[..., None].repeat(3, 2)
        sample = ds.pipeline(info)['data_samples']
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(union[None].astype('int64')))
        metric.process({}, [sample.to_dict()])
    res = metric.evaluate(len(ds))
    assert abs(res['oIoU'] - report['blind']['val']['union_oIoU']) < 0.01
    assert res['oIoU'] < 40


def _toy_sentences(root):
    with open(osp.join(root, 'toyref', 'refs(unc).p'), 'rb') as f:
        return [s['sent'] for r in pickle.load(f) for s in r['sentences']]


def test_toy_vocabulary_is_every_word():
    """toy_vocabulary lists exactly the words the generator's sentences use (scenes of every
    kind, no images drawn)."""
    import numpy as np

    from mmris.datasets.toy import _scene
    vocab = toy_vocabulary()
    assert vocab == sorted(set(vocab)) and all(w == w.lower() for w in vocab)
    rng = np.random.default_rng(0)
    used = set()
    for kind in ('attribute', 'spatial', 'any'):
        for _ in range(100):
            used.update(w for _, texts in _scene(rng, kind, 2)[3] for t in texts
                        for w in t.split())
    assert used == set(vocab)


def test_toy_bert_dir_covers_every_word(tmp_path):
    """generate_toy_refer writes <root>/bert-tiny; its tokenizer maps every word of every
    sentence (and of its horizontal flip) to a vocabulary id of its own, never [UNK]."""
    pytest.importorskip('transformers')
    from mmris.datasets.transforms.text import swap_left_right
    from mmris.models.text_encoders.bert import build_bert_tokenizer
    root = str(tmp_path)
    generate_toy_refer(root, seed=2, num_images=dict(train=8, val=4, testA=4, testB=4))
    bert = osp.join(root, TOY_BERT_DIR)
    with open(osp.join(bert, 'vocab.txt')) as f:
        vocab = f.read().split()
    with open(osp.join(bert, 'config.json')) as f:
        config = json.load(f)
    assert vocab == list(TOY_BERT_SPECIALS) + toy_vocabulary()
    assert config['model_type'] == 'bert' and config['vocab_size'] == len(vocab)
    assert config['pad_token_id'] == vocab.index('[PAD]') == 0
    tok = build_bert_tokenizer(bert)
    assert tok.unk_token_id == vocab.index('[UNK]') and tok.mask_token_id is not None
    sentences = _toy_sentences(root)
    sentences += [swap_left_right(s) for s in sentences]
    assert any('left' in s for s in sentences) and any('right' in s for s in sentences)
    for sent in sentences:
        ids = tok(sent)['input_ids']
        words = sent.split()
        assert ids[1:-1] == [vocab.index(w) for w in words], sent  # [CLS] words [SEP]
        assert len(ids) <= config['max_position_embeddings']
    # the same directory for a data root generated before it existed (--bert-only)
    assert write_toy_bert(str(tmp_path / 'again')) == str(tmp_path / 'again')
    assert digest(tmp_path / 'again') == digest(bert)


def test_generate_toy_data_bert_only(tmp_path, monkeypatch):
    """``generate_toy_data.py --bert-only`` writes only the BERT directory."""
    import runpy
    import sys
    script = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
                      'generate_toy_data.py')
    monkeypatch.setattr(sys, 'argv', [script, '--out', str(tmp_path), '--bert-only'])
    runpy.run_path(script, run_name='__main__')
    assert os.listdir(tmp_path) == [TOY_BERT_DIR]
    assert sorted(os.listdir(tmp_path / TOY_BERT_DIR)) == ['config.json', 'vocab.txt']
