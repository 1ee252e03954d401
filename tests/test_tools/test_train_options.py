"""tools/train.py's option checks: --auto-scale-lr needs (and every config has)
``auto_scale_lr.base_batch_size``; ``train_cfg.max_iters`` on an epoch-based loop is named."""
import os.path as osp
import runpy
from types import SimpleNamespace

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-10e_toy-128.py')


@pytest.fixture(scope='module')
def train_tool():
    return runpy.run_path(osp.join(ROOT, 'tools/train.py'), run_name='train_tool')


def test_auto_scale_lr_scales_the_toy_lr(train_tool):
    """mmengine's own Runner.scale_lr on what the tool leaves in the config (called on a
    stand-in for the Runner: building a whole Runner costs seconds)."""
    import torch.nn as nn
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    cfg = Config.fromfile(TOY)
    cfg.train_dataloader.batch_size = 4
    train_tool['enable_auto_scale_lr'](cfg, TOY)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)
    wrapper = build_optim_wrapper(nn.Linear(2, 2), cfg.optim_wrapper)
    runner = SimpleNamespace(_train_dataloader=cfg.train_dataloader, world_size=2,
                             param_schedulers=None, logger=MMLogger.get_current_instance())
    Runner.scale_lr(runner, wrapper, cfg.auto_scale_lr)
    lr = cfg.optim_wrapper.optimizer.lr
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(lr * 2 * 4 / 16)


def test_auto_scale_lr_without_base_batch_size(train_tool):
    cfg = Config.fromfile(TOY)
    cfg.pop('auto_scale_lr')
    with pytest.raises(SystemExit, match=r'has no auto_scale_lr.base_batch_size.*'
                       r'--cfg-options auto_scale_lr.base_batch_size=N'):
        train_tool['enable_auto_scale_lr'](cfg, TOY)
    cfg.merge_from_dict({'auto_scale_lr.base_batch_size': 8})
    train_tool['enable_auto_scale_lr'](cfg, TOY)
    assert cfg.auto_scale_lr.enable and cfg.auto_scale_lr.base_batch_size == 8


def test_max_iters_on_an_epoch_based_loop(train_tool):
    cfg = Config.fromfile(TOY)
    train_tool['check_loop_options'](cfg, TOY)  # as shipped: fine
    cfg.merge_from_dict({'train_cfg.max_iters': 5})
    with pytest.raises(SystemExit, match=r'train_cfg.max_iters: .* epoch-based loop '
                       r'\(EpochBasedTrainLoop\).*train_cfg.max_epochs=1 .*'
                       r'train_dataloader.dataset.indices=64'):
        train_tool['check_loop_options'](cfg, TOY)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=5)
    train_tool['check_loop_options'](cfg, TOY)
