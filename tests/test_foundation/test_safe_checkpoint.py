"""Checkpoints: hostile, empty and plain-mmengine files get mmris's errors; the converters and
the re-save tool run no code from a file."""
import argparse
import copyreg
import importlib.util
import os
import os.path as osp
import pickle
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

import mmris  # noqa: F401  (registers the allow-list and the local checkpoint loader)
from mmris.utils.checkpoint import (CheckpointReadError, UnsafeCheckpointError,
                                    load_checkpoint_file, load_from_local)

ROOT = osp.join(osp.dirname(__file__), '..', '..')
SYSTEM = f'{os.system.__module__}.system'  # posix.system on Linux
CONVERTERS = ('lavt2mmris', 'magnet2mmris', 'cris2mmris')


def _tool(path):
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(tool, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [tool.__name__] + argv)
    return tool.main()


class _Touch:
    """Creates ``marker`` when unpickled with ``weights_only=False``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


@pytest.fixture
def hostile(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    # a valid-looking LAVT layout whose training state carries the payload
    torch.save(dict(model={'backbone.patch_embed.proj.weight': torch.zeros(1)}, epoch=3,
                    args=_Touch(marker)), path)
    return path, marker


def test_payload_runs_without_weights_only(hostile):
    path, marker = hostile
    torch.load(path, weights_only=False)
    assert marker.exists()  # the fixture is really hostile


def test_mmengine_local_loader_is_mmris(hostile):
    assert CheckpointLoader._get_checkpoint_loader('work_dirs/x/epoch_1.pth') is load_from_local
    path, marker = hostile
    # tools/test.py, load_from, --resume and the inferencer all load through this path
    for load in (lambda: load_checkpoint(nn.Linear(1, 1), path),
                 lambda: _load_checkpoint(path, map_location='cpu')):
        with pytest.raises(UnsafeCheckpointError) as err:
            load()
        assert isinstance(err.value, pickle.UnpicklingError)
        assert SYSTEM in str(err.value) and path in str(err.value)
        assert 'resave_checkpoint.py' in str(err.value) and 'run code' in str(err.value)
    assert not marker.exists()


def test_empty_and_truncated_checkpoints(tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointReadError, match=r'empty\.pth: empty file'):
        _load_checkpoint(str(empty), map_location='cpu')
    good = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(100))), good)
    data = open(good, 'rb').read()
    for name, content in (('cut.pth', data[:len(data) // 2]), ('text.pth', b'not a ckpt')):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointReadError, match=name.replace('.', r'\.')):
            load_checkpoint_file(str(tmp_path / name))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


@pytest.mark.parametrize('name', CONVERTERS)
def test_converters_refuse_hostile_file(name, hostile, monkeypatch, capsys, tmp_path):
    path, marker = hostile
    dst = tmp_path / 'out.pth'
    tool = _tool(f'tools/model_converters/{name}.py')
    assert _run(tool, ['--src', path, '--dst', str(dst)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert SYSTEM in err and path in err
    assert not marker.exists() and not dst.exists()


@pytest.mark.parametrize('name', CONVERTERS)
@pytest.mark.parametrize('content', ['empty', 'nothing', 'unknown'])
def test_converters_refuse_files_without_the_layout(name, content, monkeypatch, capsys,
                                                    tmp_path):
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    if content == 'empty':
        src.write_bytes(b'')
    else:  # a checkpoint with none of the expected keys / of an unknown layout
        torch.save({'model': {}, 'state_dict': {}} if content == 'nothing' else
                   {'foo.weight': torch.zeros(2)}, str(src))
    tool = _tool(f'tools/model_converters/{name}.py')
    assert _run(tool, ['--src', str(src), '--dst', str(dst)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert str(src) in err and not dst.exists()
    if content == 'empty':
        assert 'empty file' in err
    else:  # names what the converter expected
        assert 'expected keys: ' + '; '.join(tool.EXPECTED) in err


def _plain_mmengine_checkpoint(path, monkeypatch):
    """What mmengine saves without mmris imported: HistoryBuffer with its functions."""
    model = nn.Linear(2, 1)
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.MultiStepLR(optim, milestones=[1, 3])
    hub = MessageHub(name='plain_mmengine_ckpt')
    for loss in (0.5, 0.25):
        hub.update_scalar('train/loss', loss)
    hub.update_info('iter', 2)
    with monkeypatch.context() as m:
        m.delitem(copyreg.dispatch_table, HistoryBuffer)
        torch.save(dict(meta=dict(iter=2, seed=0, mmengine_version='0.10.7'),
                        state_dict=model.state_dict(), message_hub=hub.state_dict(),
                        optimizer=optim.state_dict(), param_schedulers=[sched.state_dict()]),
                   path)
    return model


def test_plain_mmengine_checkpoint_refused_then_resaved(tmp_path, monkeypatch, capsys):
    src, dst = str(tmp_path / 'plain.pth'), str(tmp_path / 'resaved.pth')
    model = _plain_mmengine_checkpoint(src, monkeypatch)
    assert 'builtins.getattr' in torch.serialization.get_unsafe_globals_in_checkpoint(src)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint(nn.Linear(2, 1), src)
    msg = str(err.value)
    assert 'builtins.getattr' in msg and 'plain mmengine' in msg and src in msg
    assert f'resave_checkpoint.py {src} NEW.pth --trust-source' in msg
    assert 'add_safe_globals([getattr])' not in msg  # torch's advice to allow-list getattr

    tool = _tool('tools/misc/resave_checkpoint.py')
    assert _run(tool, [src, dst], monkeypatch) == 1  # no --trust-source: nothing written
    assert 'builtins.getattr' in capsys.readouterr().err and not osp.exists(dst)
    assert _run(tool, [src, dst, '--trust-source'], monkeypatch) == 0
    assert 'loads with weights_only=True' in capsys.readouterr().out
    ckpt = load_checkpoint_file(dst)
    loaded = nn.Linear(2, 1)
    load_checkpoint(loaded, dst)
    assert torch.equal(loaded.weight, model.weight)
    hub = MessageHub(name='plain_mmengine_resaved')
    hub.load_state_dict(ckpt['message_hub'])
    assert hub.get_scalar('train/loss').mean() == pytest.approx(0.375)
    assert ckpt['param_schedulers'][0]['milestones'] == {1: 1, 3: 1}
    # and without the flag the re-saved file is reported as already fine
    assert _run(tool, [dst, str(tmp_path / 'again.pth')], monkeypatch) == 0
    assert not osp.exists(tmp_path / 'again.pth')


def test_resave_refuses_hostile_file_without_trust(hostile, monkeypatch, capsys, tmp_path):
    path, marker = hostile
    dst = tmp_path / 'out.pth'
    tool = _tool('tools/misc/resave_checkpoint.py')
    assert _run(tool, [path, str(dst)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert SYSTEM in err and '--trust-source' in err
    assert not marker.exists() and not dst.exists()


def test_resave_names_keys_that_stay_unsafe(tmp_path, monkeypatch, capsys):
    src, dst = str(tmp_path / 'src.pth'), str(tmp_path / 'dst.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(1)), fn=os.path.join), src)
    tool = _tool('tools/misc/resave_checkpoint.py')
    assert _run(tool, [src, dst, '--trust-source'], monkeypatch) == 1
    err = capsys.readouterr().err
    assert "['fn']" in err and '--drop' in err and not osp.exists(dst)
    assert _run(tool, [src, dst, '--trust-source', '--drop', 'fn'], monkeypatch) == 0
    assert list(load_checkpoint_file(dst)) == ['state_dict']


def test_converter_safe_globals_are_scoped(tmp_path):
    path = str(tmp_path / 'ns.pth')
    torch.save(dict(args=argparse.Namespace(lr=0.1)), path)
    assert load_checkpoint_file(path, safe_globals=[argparse.Namespace])['args'].lr == 0.1
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace'):
        load_checkpoint_file(path)  # not allowed outside the converters
