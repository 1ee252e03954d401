"""Every command in the docs (``README.md``, ``docs/*.md``) is checked.

For each fenced ``bash`` / ``shell`` / ``sh`` block:

* each script it runs (``python X.py``, ``bash X.sh``) and each config, tool or demo path it
  names exists (placeholders such as ``CONFIG`` or ``<model>`` aside);
* each Python script under ``tools/`` or ``demo/`` parses ``--help`` (loaded in process, its
  ``parse_args`` called); each shell script passes ``bash -n``; ``python -m X`` imports;
* commands of other programs (``git``, ``pip``, ``torchrun``, ``source``, ``cd``, ...) are not
  checked.

Blocks marked ``<!-- docs-check: run -->`` on the line above (bash or python) are **run**, in
a scratch folder holding links to ``configs``, ``tools`` and ``demo``, a small generated toy
dataset at ``data/toy`` and a tiny random CRIS at the checkpoint path that
``bash tools/run_toy.sh`` writes. Not run: training (minutes even on the toy data), anything
needing the real datasets, pretrained weights, GPUs, several processes or slurm, and the
installer; those are covered by the static checks above only.
"""
import glob
import os
import os.path as osp
import re
import runpy
import shlex
import subprocess
import sys
from typing import List, NamedTuple

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DOCS = sorted(glob.glob(osp.join(ROOT, 'docs', '*.md'))) + [osp.join(ROOT, 'README.md')]
SHELL = ('bash', 'shell', 'sh', 'console')
RUN_MARK = '<!-- docs-check: run -->'
TOY_CKPT = 'work_dirs/cris_tiny_1xb16-bf16-11e_toy-128x96/epoch_11.pth'
PYTHONS = ('python', 'python3', '.venv/bin/python', '$PY')
SEPARATORS = ('&&', '||', ';', '|')


class Block(NamedTuple):
    doc: str
    line: int
    lang: str
    text: str
    run: bool

    @property
    def where(self) -> str:
        return f'{osp.relpath(self.doc, ROOT)}:{self.line}'


def blocks() -> List[Block]:
    found = []
    for doc in DOCS:
        lines = open(doc).read().split('\n')
        i = 0
        while i < len(lines):
            m = re.match(r'^\s*```(\w*)\s*$', lines[i])
            if not m:
                i += 1
                continue
            start, lang = i, m.group(1).lower()
            j = i + 1
            while j < len(lines) and not re.match(r'^\s*```\s*$', lines[j]):
                j += 1
            run = start > 0 and lines[start - 1].strip() == RUN_MARK
            found.append(Block(doc, start + 1, lang, '\n'.join(lines[start + 1:j]), run))
            i = j + 1
    return found


BLOCKS = blocks()
SHELL_BLOCKS = [b for b in BLOCKS if b.lang in SHELL]


def commands(text: str) -> List[List[str]]:
    """Shell text -> commands (token lists): continuations joined, comments dropped, split at
    ``&&``, ``;``, ``|``, leading ``VAR=value`` assignments dropped."""
    out = []
    for line in text.replace('\\\n', ' ').split('\n'):
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            tokens = line.split()
        cmd = []
        for tok in tokens + [';']:
            if tok in SEPARATORS:
                while cmd and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', cmd[0]):
                    cmd.pop(0)
                if cmd:
                    out.append(cmd)
                cmd = []
            else:
                cmd.append(tok)
    return out


def is_placeholder(token: str) -> bool:
    return bool(re.search(r'[<>{}*]|\.\.\.|\$', token)) or token.isupper()


def named_paths(cmd: List[str]) -> List[str]:
    """Repository paths a command names: scripts, configs, demo files."""
    return [t for t in cmd if re.match(r'^(configs|tools|demo|docs)/', t)
            and not is_placeholder(t)]


def test_docs_have_commands():
    assert len(SHELL_BLOCKS) > 10
    assert any(b.run for b in BLOCKS)


@pytest.mark.parametrize('block', SHELL_BLOCKS, ids=lambda b: b.where)
def test_named_paths_exist(block):
    missing = [p for cmd in commands(block.text) for p in named_paths(cmd)
               if not osp.exists(osp.join(ROOT, p))]
    assert not missing, f'{block.where}: no such file in the checkout: {missing}'


def _scripts(kind: str) -> List[tuple]:
    found = set()
    for block in SHELL_BLOCKS:
        for cmd in commands(block.text):
            if cmd[0] in PYTHONS and len(cmd) > 1:
                if kind == 'py' and cmd[1].endswith('.py') and not is_placeholder(cmd[1]):
                    found.add(cmd[1])
                if kind == 'module' and cmd[1] == '-m' and len(cmd) > 2:
                    found.add(cmd[2])
            if kind == 'sh' and cmd[0] in ('bash', 'sh') and len(cmd) > 1 \
                    and cmd[1].endswith('.sh') and not is_placeholder(cmd[1]):
                found.add(cmd[1])
    return sorted(found)


PY_TOOLS = [s for s in _scripts('py') if re.match(r'^(tools|demo)/', s)]


@pytest.mark.parametrize('script', PY_TOOLS)
def test_python_tools_parse_help(script, capsys, monkeypatch):
    path = osp.join(ROOT, script)
    assert osp.isfile(path), f'{script} is named in the docs but does not exist'
    module = runpy.run_path(path, run_name='docs_check')
    parse = module.get('parse_args')
    monkeypatch.setattr(sys, 'argv', [path, '--help'])
    with pytest.raises(SystemExit) as info:
        parse() if parse is not None else module['main']()
    assert info.value.code in (0, None)
    assert 'usage' in capsys.readouterr().out.lower()


@pytest.mark.parametrize('script', _scripts('sh'))
def test_shell_scripts_parse(script):
    path = osp.join(ROOT, script)
    assert osp.isfile(path), f'{script} is named in the docs but does not exist'
    proc = subprocess.run(['bash', '-n', path], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize('module', _scripts('module'))
def test_python_modules_exist(module):
    import importlib.util
    assert importlib.util.find_spec(module) is not None, module


# ------------------------------------------------------------------ the blocks that run
@pytest.fixture(scope='module')
def sandbox(tmp_path_factory) -> str:
    """A scratch working folder: links to the code, a tiny toy dataset, a tiny checkpoint,
    and `python` on PATH being this interpreter."""
    import torch
    from mmengine.config import Config

    from mmris.datasets.toy import generate_toy_refer
    from mmris.registry import MODELS
    from mmris.utils import register_all_modules

    root = tmp_path_factory.mktemp('docs_sandbox')
    for name in ('configs', 'tools', 'demo'):
        os.symlink(osp.join(ROOT, name), root / name)
    generate_toy_refer(str(root / 'data' / 'toy'), seed=0, refs_per_image=2,
                       num_images=dict(train=2, val=2, testA=2, testB=2))
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(
        Config.fromfile(osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-bf16-11e_toy-128x96.py')).model)
    ckpt = root / TOY_CKPT
    ckpt.parent.mkdir(parents=True)
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    bin_dir = root / '.bin'
    bin_dir.mkdir()
    wrapper = bin_dir / 'python'  # a link would lose the virtual environment
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    wrapper.chmod(0o755)
    return str(root)


RUN_BLOCKS = [b for b in BLOCKS if b.run]


@pytest.mark.parametrize('block', RUN_BLOCKS, ids=lambda b: b.where)
def test_run_marked_blocks(block, sandbox, monkeypatch):
    assert block.lang in SHELL + ('python', ), f'{block.where}: cannot run {block.lang}'
    if block.lang == 'python':
        monkeypatch.chdir(sandbox)
        exec(compile(block.text, block.where, 'exec'), {'__name__': '__docs__'})
        return
    cmds = commands(block.text)
    if all(c[0] in PYTHONS and c[1].startswith('demo/') for c in cmds):
        # demo scripts run in this process: a fresh interpreter costs more than the demo
        monkeypatch.chdir(sandbox)
        for cmd in cmds:
            monkeypatch.setattr(sys, 'argv', cmd[1:])
            runpy.run_path(osp.join(sandbox, cmd[1]), run_name='__main__')
        return
    env = dict(os.environ, PATH=osp.join(sandbox, '.bin') + os.pathsep + os.environ['PATH'],
               PYTHONWARNINGS='ignore')
    # the toy loaders' worker processes cost more than the few samples here
    lines = block.text.replace('\\\n', ' ').split('\n')
    text = '\n'.join(
        line + ' --cfg-options test_dataloader.num_workers=0 '
        'test_dataloader.persistent_workers=False' if 'tools/test.py' in line else line
        for line in lines)
    proc = subprocess.run(['bash', '-euo', 'pipefail', '-c', text], cwd=sandbox, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f'{block.where}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}'
