"""Every config under configs/ loads, stays local, follows the naming scheme and builds its
model (on the meta device, so full-size models cost no memory)."""
import ast
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmris.registry import MODELS
from mmris.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and 'examples' not in p)
# {model}_{backbone}_{gpus}xb{batch}[-{setting}]-{schedule}_{dataset}-{size}[-variant].py, the
# size one number or WxH, the setting as mmseg's (e.g. fcn_r50-d8_4xb2-amp-80k_...)
NAME = re.compile(r'^[a-z0-9]+_[a-z0-9-]+_\d+xb\d+(-[a-z0-9]+)?-\d+[ek]_[a-z0-9+-]+-\d+(x\d+)?'
                  r'(-[a-z0-9-]+)?$')


def _bases(path):
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == '_base_':
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


def _depth(path):
    bases = _bases(path)
    return 0 if not bases else 1 + max(
        _depth(osp.normpath(osp.join(osp.dirname(path), b))) for b in bases)


@pytest.fixture(scope='module')
def bert_base_dir(tmp_path_factory):
    """A BERT-base directory without weights: its config.json and a vocabulary of the right
    size (the configs name a local directory that CI does not have; weights load only at
    ``init_weights``)."""
    transformers = pytest.importorskip('transformers')
    path = tmp_path_factory.mktemp('bert-base')
    config = transformers.BertConfig()  # BERT-base uncased: 768 wide, 12 layers, 30522 words
    config.save_pretrained(str(path))
    special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    words = special + [f'w{i}' for i in range(config.vocab_size - len(special))]
    (path / 'vocab.txt').write_text('\n'.join(words) + '\n')
    return str(path)


@pytest.fixture(scope='module')
def toy_bert_dir(tmp_path_factory):
    """The toy data's tiny BERT (``data/toy/bert-tiny``, written with the toy data)."""
    from mmris.datasets.toy import TOY_BERT_DIR, write_toy_bert
    return write_toy_bert(str(tmp_path_factory.mktemp('toy') / TOY_BERT_DIR))


def _use_bert_dir(node, path, toy_path):
    """Point every BERTTextEncoder of a model config at ``toy_path`` if it names the toy
    data's tiny BERT, else at ``path``; the set of the directories used."""
    from mmris.datasets.toy import TOY_BERT_DIR
    used = set()
    if isinstance(node, dict):
        if node.get('type') == 'BERTTextEncoder':
            toy = osp.basename(osp.normpath(node['pretrained'])) == TOY_BERT_DIR
            node['pretrained'] = toy_path if toy else path
            used.add(node['pretrained'])
        for value in node.values():
            used |= _use_bert_dir(value, path, toy_path)
    elif isinstance(node, (list, tuple)):
        for value in node:
            used |= _use_bert_dir(value, path, toy_path)
    return used


def test_there_are_configs():
    assert any('cris/' in p for p in CONFIGS)


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config(path, bert_base_dir, toy_bert_dir):
    register_all_modules()
    name = osp.splitext(osp.basename(path))[0]
    if name != 'coupalign_swin-b':  # the short name users type, by design
        assert NAME.match(name), f'{name} does not follow the naming scheme'
    assert _depth(path) <= 3, f'{name}: more than 3 levels of _base_'
    for base in _bases(path):
        assert '::' not in base, f'{name}: bases stay local (a pkg:: base pins its scope)'
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmris'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'val_evaluator', 'test_evaluator'):
        assert key in cfg, f'{name} lacks {key}'
    # `tools/train.py --auto-scale-lr` needs the total batch the lr was tuned for: the
    # name's {gpus}x{batch}, which is also the per-process batch of the train loader
    scale = re.search(r'_(\d+)xb(\d+)-', osp.basename(cfg.filename))
    assert cfg.get('auto_scale_lr', {}).get('base_batch_size'), \
        f'{name} lacks auto_scale_lr.base_batch_size'
    if scale:
        gpus, batch = int(scale.group(1)), int(scale.group(2))
        assert cfg.auto_scale_lr.base_batch_size == gpus * batch, name
        assert cfg.train_dataloader.batch_size == batch, name
    bert_dirs = _use_bert_dir(cfg.model, bert_base_dir, toy_bert_dir)
    try:
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
    except RuntimeError as e:  # e.g. mmseg's Swin calls .item() while building
        assert 'meta' in str(e), e
        model = MODELS.build(cfg.model)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params > 0
    if bert_base_dir in bert_dirs:  # the BERT-base tower is all there
        assert n_params > 85e6
