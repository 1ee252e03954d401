"""Save / resume with mmengine's Runner under torch's ``weights_only=True`` loading."""
import os.path as osp
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint

from mmris.registry import DATASETS, MODELS
from mmris.utils import register_all_modules


@MODELS.register_module(force=True)
class _TinyRegressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, inputs, targets, mode='tensor'):
        out = self.fc(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=((out.squeeze(1) - torch.stack(targets))**2).mean())
        return out


@DATASETS.register_module(force=True)
class _Data(torch.utils.data.Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(4, generator=g), targets=torch.tensor(float(i)))


def _cfg(work_dir, max_iters, resume=False):
    return dict(
        model=dict(type='_TinyRegressor'),
        work_dir=work_dir,
        default_scope='mmris',
        train_dataloader=dict(
            dataset=dict(type='_Data'), sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate'), batch_size=2, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.01)),
        param_scheduler=[dict(type='MultiStepLR', by_epoch=False, milestones=[1, 3], end=100)],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        resume=resume,
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
    )


def test_train_save_and_resume(tmp_path):
    register_all_modules(init_default_scope=False)
    work_dir = str(tmp_path)
    runner = Runner.from_cfg(_cfg(work_dir, max_iters=2))
    runner.train()
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.exists(ckpt)
    saved_weight = runner.model.fc.weight.detach().clone()

    # the checkpoint needs more than tensors (mmengine's HistoryBuffer, numpy, a Counter), all
    # allow-listed, and no function reached through getattr
    import zipfile
    with zipfile.ZipFile(ckpt) as zf:
        pkl = zf.read(next(n for n in zf.namelist() if n.endswith('data.pkl')))
    assert b'HistoryBuffer' in pkl and b'getattr' not in pkl
    assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []

    runner2 = Runner.from_cfg(_cfg(work_dir, max_iters=4, resume=True))
    runner2.train()  # resumes from iter_2.pth under weights_only=True
    assert runner2.iter == 4
    assert osp.exists(osp.join(work_dir, 'iter_4.pth'))
    # the message hub and the scheduler came back: lr decayed twice (milestones 1 and 3)
    lr = runner2.optim_wrapper.get_lr()['lr'][0]
    assert lr == pytest.approx(0.01 * 0.1 * 0.1)
    assert not torch.equal(runner2.model.fc.weight, saved_weight)

    # and the resumed state equals the saved one before training went on
    state = torch.load(ckpt, weights_only=True)
    assert torch.equal(state['state_dict']['fc.weight'], saved_weight)
    assert state['meta']['iter'] == 2


class _Evil:

    def __reduce__(self):
        import os
        return (os.system, ('echo pwned > /dev/null',))


def test_checkpoint_with_code_is_refused(tmp_path):
    import mmris  # noqa: F401  (registers the allow-list)
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(nn.Linear(1, 1), path)


@pytest.mark.parametrize('leaf', ['coupalign/coupalign_toy_1xb16-7e_toy-128.py',
                                  'eavl/eavl_tiny_1xb16-10e_toy-128.py'])
def test_toy_schedule_ends_with_training(tmp_path, leaf):
    """The toy schedule's cosine has no ``end``: the Runner ends it at the leaf's
    ``train_cfg.max_epochs``, and the last epoch's checkpoint is saved."""
    from mmengine.config import Config
    register_all_modules(init_default_scope=False)
    toy = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', 'configs', leaf))
    epochs = toy.train_cfg.max_epochs
    assert all('end' not in s for s in toy.param_scheduler if s.get('by_epoch', True))
    cfg = _cfg(str(tmp_path), max_iters=0)
    cfg.update(param_scheduler=toy.param_scheduler, train_cfg=toy.train_cfg,
               default_hooks=dict(checkpoint=toy.default_hooks.checkpoint),
               log_processor=dict(by_epoch=True))
    runner = Runner.from_cfg(cfg)
    runner.train()
    cosine = runner.param_schedulers[-1]  # its last step sets the last epoch's lr
    assert (cosine.end, cosine.T_max, cosine.last_step) == (epochs, epochs, epochs - 1)
    assert runner.epoch == epochs
    assert osp.exists(osp.join(str(tmp_path), f'epoch_{epochs}.pth'))


def test_resume_from_plain_mmengine_checkpoint(tmp_path, monkeypatch):
    """A checkpoint saved by mmengine without mmris's HistoryBuffer reducer is refused on
    --resume with mmris's message; re-saved with tools/misc/resave_checkpoint.py it resumes."""
    import copyreg
    import importlib.util
    import sys

    from mmengine.logging import HistoryBuffer

    from mmris.utils.checkpoint import UnsafeCheckpointError
    register_all_modules(init_default_scope=False)
    work_dir = str(tmp_path)
    with monkeypatch.context() as m:  # what plain mmengine writes
        m.delitem(copyreg.dispatch_table, HistoryBuffer)
        Runner.from_cfg(_cfg(work_dir, max_iters=2)).train()
    ckpt = osp.join(work_dir, 'iter_2.pth')
    cfg = dict(_cfg(work_dir, max_iters=4), load_from=ckpt, resume=True)
    with pytest.raises(UnsafeCheckpointError, match=r'builtins\.getattr.*--trust-source'):
        Runner.from_cfg(cfg).train()

    spec = importlib.util.spec_from_file_location(
        'resave_checkpoint', osp.join(osp.dirname(__file__), '..', '..', 'tools', 'misc',
                                      'resave_checkpoint.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    resaved = osp.join(work_dir, 'resaved.pth')
    monkeypatch.setattr(sys, 'argv', ['resave', ckpt, resaved, '--trust-source'])
    assert tool.main() == 0
    runner = Runner.from_cfg(dict(_cfg(work_dir, max_iters=4), load_from=resaved, resume=True))
    runner.train()
    assert runner.iter == 4
