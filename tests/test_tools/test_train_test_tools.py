"""tools/dist_train.sh on CPU (2 processes, gloo), tools/test.py with --show-dir / --out, and
tools/train.py --resume, on a small toy set."""
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
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


def _tails(proc) -> str:
    """The ends of both streams (mmengine logs to stdout, Python errors go to stderr)."""
    return (f'exit {proc.returncode}\n--- stdout (end) ---\n{proc.stdout[-3000:]}\n'
            f'--- stderr (end) ---\n{proc.stderr[-3000:]}')


def _env(**kw) -> dict:
    # PYTHONFAULTHANDLER: a process killed by a signal (e.g. SIGABRT) prints every thread's
    # Python stack, so a failure says where it happened
    return dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1', PYTHONFAULTHANDLER='1', **kw)


def _run(cmd, **kw):
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, **kw)
    assert proc.returncode == 0, _tails(proc)
    return proc.stdout + proc.stderr


def _test_targets(toy_root):
    """(ref_id, sent_id) -> target mask at the image size, for every testA sentence."""
    from mmris.registry import DATASETS
    from mmris.utils import register_all_modules
    register_all_modules()
    ds = DATASETS.build(dict(
        type='ReferDataset', data_root=toy_root, ann_file='toyref/instances.json',
        split_file='toyref/refs(unc).p', split='testA', text_mode='all',
        data_prefix=dict(img_path='images/'), pipeline=[dict(type='LoadReferAnnotation')]))
    return {(s['ref_id'], s['sent_id']): s['gt_seg_map'] for s in (ds[i] for i in
                                                                    range(len(ds)))}


def _check_results(path, gts, logits=True):
    """The results file holds one record per sentence (a prefix of the split, in its order),
    masks at the image size whose intersection / union with the target are the stored
    ones, and its metrics agree with those counts."""
    from mmris.evaluation import load_results, refer_scores
    header, records = load_results(path, decode_masks=True, decode_logits=logits)
    keys = [(r['ref_id'], r['sent_id']) for r in records]
    assert len(set(keys)) == len(keys) == header['num_records']
    assert keys == list(gts)[:len(keys)]
    for rec in records:
        gt = gts[rec['ref_id'], rec['sent_id']]
        mask = rec['mask_array'].astype(bool)
        assert mask.shape == gt.shape
        assert rec['intersection'] == (mask & (gt == 1)).sum()
        assert rec['union'] == (mask | (gt == 1)).sum()
        assert isinstance(rec['sentence'], str) and rec['sentence']
        if logits:
            assert rec['logits'].shape == gt.shape
            # the mask is sigmoid(logits) > 0.35 (CRIS's threshold), up to float16 rounding
            cut = np.log(0.35 / 0.65)
            differ = (rec['logits'] > cut) != mask
            assert (np.abs(rec['logits'][differ] - cut) < 1e-2).all()
        else:
            assert 'logits' not in rec
    inter = np.array([r['intersection'] for r in records])
    union = np.array([r['union'] for r in records])
    area = np.array([r['mask_array'].sum() for r in records])
    assert header['metrics'] == pytest.approx(refer_scores(inter, union, area))
    return header


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy'))
    generate_toy_refer(root, num_images=dict(train=6, val=3, testA=2, testB=2))
    return root


def test_dist_train_on_cpu_then_test_and_resume(toy_root, tmp_path):
    work = str(tmp_path / 'work')
    env = _env(PORT=str(29600 + os.getpid() % 300), PYTHON=sys.executable)
    proc = subprocess.run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work] +
                          _options(toy_root, 1), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, _tails(proc)
    assert 'using the gloo distributed backend' in out and 'Distributed training: True' in out
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.exists(ckpt)

    # evaluate, draw the predictions with their sentences, write the results file (logits
    # on request)
    results = str(tmp_path / 'results.jsonl.gz')
    out = _run([sys.executable, 'tools/test.py', CONFIG, ckpt, '--work-dir', work,
                '--show-dir', 'vis', '--out', results, '--out-logits'] +
               _options(toy_root, 1), timeout=300)
    assert 'oIoU' in out and 'mIoU' in out and 'Prec@0.5' in out
    assert 'RISResultsWriter' in out and 'KB per sentence' in out
    gts = _test_targets(toy_root)
    n_test = len(gts)
    header = _check_results(results, gts)
    assert header['checkpoint'] == ckpt and header['config'] == CONFIG
    assert header['dataset']['split'] == 'testA' and header['logits']['dtype'] == 'float16'

    # the same with 2 processes and an odd number of sentences (the sampler pads one):
    # every sentence once, the same masks; no logits unless asked for
    refs = list(dict.fromkeys(ref for ref, _ in gts))  # `indices` keeps the first N refs
    sentences = np.cumsum([sum(1 for r, _ in gts if r == ref) for ref in refs])
    odd = max(k + 1 for k, n in enumerate(sentences[:-1]) if n % 2)
    results_dist = str(tmp_path / 'results_dist.jsonl')
    proc = subprocess.run(
        ['bash', 'tools/dist_test.sh', CONFIG, ckpt, '2', '--work-dir', work, '--out',
         results_dist] + _options(toy_root, 1) + [f'test_dataloader.dataset.indices={odd}'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, _tails(proc)
    header_dist = _check_results(results_dist, gts, logits=False)
    assert header_dist['num_records'] == sentences[odd - 1]

    pngs = glob.glob(osp.join(work, 'vis', 'vis_data', 'vis_image', '*.png'))
    assert len(pngs) == n_test and all('_ref' in osp.basename(p) and '_sent' in osp.basename(p)
                        for p in pngs)

    # resume from the latest checkpoint in the work dir and train one more epoch
    out = _run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', work, '--resume'] +
               _options(toy_root, 2), timeout=300)
    assert 'resumed epoch: 1' in out.lower() or 'Load checkpoint from' in out
    assert osp.exists(osp.join(work, 'epoch_2.pth'))
