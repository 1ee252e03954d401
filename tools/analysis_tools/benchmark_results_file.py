"""Size of the ``tools/test.py --out`` results file per sentence, on the RefCOCO-sized
synthetic split of ``benchmark_dataloading.py`` (640 x 480 / 480 x 640 images, COCO-like
polygons), extrapolated to RefCOCO val (10,834 sentences).

    python tools/analysis_tools/benchmark_results_file.py [--work-dir /tmp/mmris_refer_bench]

Predicted masks: the ground-truth masks of the sampled sentences at the original image size
(the masks an accurate model gives; the RLE size follows the mask's outline). Logits: those
of a tiny random CRIS (``configs/cris/cris_tiny_1xb16-10e_toy-128.py``: 128 x 128 input,
logits upsampled bilinearly to the image), float16. Results go to stdout as a markdown table
(docs/benchmarks.md, "Results file").
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from mmris.datasets import ReferDataset
from mmris.evaluation import RISResultsWriter
from mmris.registry import MODELS
from mmris.utils import register_all_modules

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_dataloading import write_synthetic  # noqa: E402

REFCOCO_VAL = 10834
TINY = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                'configs/cris/cris_tiny_1xb16-10e_toy-128.py')


def _scaled(seg: list, factor: float, w: int, h: int) -> list:
    """Polygons scaled by ``factor`` about their centre, clipped to the image."""
    out = []
    for poly in seg:
        pts = np.asarray(poly, np.float64).reshape(-1, 2)
        pts = pts.mean(0) + factor * (pts - pts.mean(0))
        out.append(np.clip(pts, 0, [w - 1, h - 1]).ravel().tolist())
    return out


def gt_samples(ds: ReferDataset, idx: np.ndarray, factor: float = 1.0) -> list:
    """Samples (as the evaluator passes them) whose prediction is the ground truth (its
    polygons scaled by ``factor``)."""
    load = Compose([dict(type='LoadReferAnnotation')])
    samples = []
    for i in idx:
        info = ds.get_data_info(int(i))
        info['segmentations'] = [_scaled(seg, factor, info['width'], info['height'])
                                 for seg in info['segmentations']]
        info = load(info)
        gt = torch.from_numpy(info['gt_seg_map'].astype(np.int64))[None]
        samples.append(dict(
            pred_sem_seg=dict(data=gt), gt_sem_seg=dict(data=gt),
            **{k: info[k] for k in ('image_id', 'ref_id', 'sent_id', 'ann_id', 'text',
                                    'img_path')},
            ori_shape=gt.shape[1:]))
    return samples


def write(samples: list, path: str, with_logits: bool = False) -> int:
    writer = RISResultsWriter(path, with_logits=with_logits)
    writer.process(None, samples)
    writer.compute_metrics(writer.results)
    return osp.getsize(path)


def main() -> None:
    parser = argparse.ArgumentParser(description='results file size per sentence')
    parser.add_argument('--work-dir', default='/tmp/mmris_refer_bench')
    parser.add_argument('--samples', type=int, default=2000, help='sentences for the masks')
    parser.add_argument('--logit-samples', type=int, default=50,
                        help='sentences for the logits (a forward pass each)')
    args = parser.parse_args()
    register_all_modules()
    torch.set_num_threads(1)
    if not osp.isfile(osp.join(args.work_dir, 'refs(unc).p')):
        write_synthetic(args.work_dir)
    ds = ReferDataset(data_root=args.work_dir, ann_file='instances.json',
                      split_file='refs(unc).p', data_prefix=dict(img_path='images/'),
                      split='train', text_mode='all')
    idx = np.random.default_rng(0).choice(len(ds), args.samples, replace=False)
    rows = []
    tmp = tempfile.mkdtemp()
    for factor in (1.0, 2.0):
        samples = gt_samples(ds, idx, factor)
        area = np.mean([s['gt_sem_seg']['data'].float().mean().item() for s in samples])
        for name in ('results.jsonl', 'results.jsonl.gz'):
            size = write(samples, osp.join(tmp, name))
            per = size / len(samples)
            rows.append((f'`--out {name}`, masks = ground truth' +
                         (f' scaled x{factor:g}' if factor != 1 else ''),
                         f'{100 * area:.1f} %', f'{per / 1024:.2f} KB',
                         f'{per * REFCOCO_VAL / 2**20:.1f} MB'))

    # logits of a tiny random CRIS on the same images
    cfg = Config.fromfile(TINY)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    pipeline = Compose([t for t in cfg.test_dataloader.dataset.pipeline])
    logit_samples = []
    for i in idx[:args.logit_samples]:
        data = pipeline(ds.get_data_info(int(i)))
        with torch.no_grad():
            out = model.test_step(pseudo_collate([data]))[0]
        logit_samples.append(out.to_dict())
    base = write(logit_samples, osp.join(tmp, 'base.jsonl.gz'))
    size = write(logit_samples, osp.join(tmp, 'logits.jsonl.gz'), with_logits=True)
    per = (size - base) / len(logit_samples)
    rows.append(('`--out-logits`: the logits alone (gzip), tiny random CRIS', '',
                 f'{per / 1024:.0f} KB', f'{per * REFCOCO_VAL / 2**30:.2f} GB'))
    print(f'\n{len(idx)} sentences of the synthetic split, masks at the image size (640 x 480 '
          f'or 480 x 640); logits: {len(logit_samples)} sentences; {os.cpu_count()} CPU '
          'cores\n')
    print('| file | mean foreground | per sentence | RefCOCO val (10,834 sentences) |\n'
          '|---|---|---|---|')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')


if __name__ == '__main__':
    main()
