"""tools/dist_train.sh on CPU (2 processes, gloo), tools/test.py with --show-dir / --out, and
tools/train.py --resume, on a small toy set."""
import glob
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest

from mmris.datasets.toy import generate_toy_refer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-10e_toy-128.py')


def _options(data_root, epochs):
    opts = [f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
            'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return ['--cfg-options'] + opts


def _run(cmd, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy'))
    generate_toy_refer(root, num_images=dict(train=6, val=3, testA=2, testB=2))
    return root


def test_dist_train_on_cpu_then_test_and_resume(toy_root, tmp_path):
    work = str(tmp_path / 'work')
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1',
               PORT=str(29600 + os.getpid() % 300), PYTHON=sys.executable)
    proc = subprocess.run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work] +
                          _options(toy_root, 1), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'using the gloo distributed backend' in out and 'Distributed training: True' in out
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.exists(ckpt)

    # evaluate, draw the predictions with their sentences, dump the results
    results = str(tmp_path / 'results.pkl')
    out = _run([sys.executable, 'tools/test.py', CONFIG, ckpt, '--work-dir', work,
                '--show-dir', 'vis', '--out', results] + _options(toy_root, 1), timeout=300)
    assert 'oIoU' in out and 'mIoU' in out and 'Prec@0.5' in out
    with open(results, 'rb') as f:
        dumped = pickle.load(f)
    from mmris.registry import DATASETS
    from mmris.utils import register_all_modules
    register_all_modules()
    n_test = len(DATASETS.build(dict(
        type='ReferDataset', data_root=toy_root, ann_file='toyref/instances.json',
        split_file='toyref/refs(unc).p', split='testA', text_mode='all',
        data_prefix=dict(img_path='images/'))))
    assert len(dumped) == n_test  # one prediction per testA sentence
    pngs = glob.glob(osp.join(work, 'vis', 'vis_data', 'vis_image', '*.png'))
    assert len(pngs) == n_test and all('_ref' in osp.basename(p) and '_sent' in osp.basename(p)
                        for p in pngs)

    # resume from the latest checkpoint in the work dir and train one more epoch
    out = _run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', work, '--resume'] +
               _options(toy_root, 2), timeout=300)
    assert 'resumed epoch: 1' in out.lower() or 'Load checkpoint from' in out
    assert osp.exists(osp.join(work, 'epoch_2.pth'))
