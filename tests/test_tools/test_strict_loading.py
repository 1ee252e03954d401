"""Checkpoints that do not fit the config: tools/test.py and load_from refuse them (unless
--non-strict), --resume refuses what cannot resume, all before scoring or training."""
import glob
import itertools
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.config import Config

from mmris.datasets.toy import generate_toy_refer
from mmris.engine import CheckpointResumeError
from mmris.registry import MODELS
from mmris.utils import CheckpointMismatchError, register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CRIS = osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-10e_toy-128.py')
EAVL = osp.join(ROOT, 'configs/eavl/eavl_tiny_1xb16-10e_toy-128.py')


_RUNS = itertools.count()


def _options(data_root):
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return ['--cfg-options'] + opts


def _tool(monkeypatch, script, args):
    """Run tools/<script> in this process (a fresh interpreter costs more than the run).

    Each run gets its own experiment name: mmengine names a run's logger by config and
    second, so two runs of one config within a second in one process would share the first
    run's logger and log file (the second work dir would get no log)."""
    assert '--cfg-options' in args  # the name is appended to the options
    args = args + [f'experiment_name={script[:-3]}_{next(_RUNS)}']
    monkeypatch.setattr(sys, 'argv', [script] + args)
    runpy.run_path(osp.join(ROOT, 'tools', script), run_name='__main__')


def _state(config, seed=0):
    register_all_modules()
    torch.manual_seed(seed)
    return MODELS.build(Config.fromfile(config).model).state_dict()


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('strict')
    data = str(root / 'toy')
    generate_toy_refer(data, num_images=dict(train=2, val=2, testA=2, testB=2))
    eavl = str(root / 'eavl_tiny.pth')  # another config's checkpoint
    torch.save(dict(state_dict=_state(EAVL), meta=dict(experiment_name='eavl_run')), eavl)
    cris = _state(CRIS)
    return dict(data=data, eavl=eavl, cris=cris, root=root)


def test_test_py_refuses_another_configs_checkpoint(files, tmp_path, monkeypatch):
    work = str(tmp_path / 'work')
    with pytest.raises(CheckpointMismatchError) as info:
        _tool(monkeypatch, 'test.py', [CRIS, files['eavl'], '--work-dir', work] +
              _options(files['data']))
    msg = str(info.value)
    assert 'eavl_tiny.pth does not fit the model built from the config' in msg
    assert 'cris_tiny_1xb16-10e_toy-128.py' in msg
    assert 'model keys missing from the checkpoint: ' in msg  # CRIS's keys, named
    assert 'checkpoint keys the model does not have: ' in msg
    assert "saved by the run 'eavl_run'" in msg and 'another config' in msg
    assert '--non-strict' in msg
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'Epoch(test)' not in log and 'oIoU' not in log  # nothing scored


def test_test_py_non_strict_scores_and_reports(files, tmp_path, monkeypatch, caplog):
    work = str(tmp_path / 'work')
    _tool(monkeypatch, 'test.py', [CRIS, files['eavl'], '--work-dir', work, '--non-strict'] +
          _options(files['data']))
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'does not fit the model' in log and 'model keys missing from the checkpoint' in log
    assert 'loaded the keys that fit' in log
    assert 'oIoU' in log  # scored


def test_train_load_from_refuses_mismatch(files, tmp_path, monkeypatch):
    work = str(tmp_path / 'work')
    with pytest.raises(CheckpointMismatchError, match='model keys missing from the checkpoint'):
        _tool(monkeypatch, 'train.py', [CRIS, '--work-dir', work] + _options(files['data']) +
              [f'load_from={files["eavl"]}'])
    assert not glob.glob(osp.join(work, '*.pth'))  # no training happened


def test_train_load_from_matching_and_non_strict(files, tmp_path, monkeypatch):
    """A fitting load_from trains (strict); a partial one trains with --non-strict."""
    part = {k: v for k, v in files['cris'].items() if not k.startswith('decode_head.')}
    path = str(tmp_path / 'backbone_only.pth')
    torch.save(dict(state_dict=part), path)
    work = str(tmp_path / 'work')
    # max_epochs=0: the Runner builds, initialises and loads, then trains nothing
    _tool(monkeypatch, 'train.py', [CRIS, '--work-dir', work, '--non-strict'] +
          _options(files['data']) + [f'load_from={path}', 'train_cfg.max_epochs=0'])
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'model keys missing from the checkpoint: decode_head.' in log
    assert 'loaded the keys that fit' in log and 'Load checkpoint from' in log
    # strict (the default), the same checkpoint with its head loads and the run goes on
    torch.save(dict(state_dict=files['cris']), path)
    _tool(monkeypatch, 'train.py', [CRIS, '--work-dir', work] + _options(files['data']) +
          [f'load_from={path}', 'train_cfg.max_epochs=0'])


def test_resume_refuses_what_cannot_resume(files, tmp_path, monkeypatch):
    work = str(tmp_path / 'work')
    args = [CRIS, '--work-dir', work]
    opts = _options(files['data'])

    # weights only (a converted or released model): not a training checkpoint
    with pytest.raises(CheckpointResumeError, match=r"no meta\['epoch'\].*load_from="):
        _tool(monkeypatch, 'train.py', args + ['--resume', files['eavl']] + opts)

    # a training checkpoint of another model: its keys are named
    other = str(tmp_path / 'eavl_epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1, iter=1), message_hub={},
                    state_dict=torch.load(files['eavl'], weights_only=True)['state_dict'],
                    optimizer=dict(state={}, param_groups=[dict(params=[0, 1])])), other)
    with pytest.raises(CheckpointResumeError) as info:
        _tool(monkeypatch, 'train.py', args + ['--resume', other] + opts)
    assert 'model keys missing from the checkpoint' in str(info.value)
    assert 'the config of the run that saved' in str(info.value)

    # this model's weights, another optimizer's parameter groups
    groups = str(tmp_path / 'groups.pth')
    torch.save(dict(meta=dict(epoch=1, iter=1), message_hub={}, state_dict=files['cris'],
                    optimizer=dict(state={}, param_groups=[dict(params=[0, 1])])), groups)
    with pytest.raises(CheckpointResumeError, match='parameter groups of sizes'):
        _tool(monkeypatch, 'train.py', args + ['--resume', groups] + opts)
    assert not glob.glob(osp.join(work, '*.pth'))  # nothing trained or saved
