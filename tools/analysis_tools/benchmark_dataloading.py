"""Measure index building and per-sample loading of ``ReferDataset`` on a RefCOCO-sized
synthetic split (42,404 train refs, 120,624 sentences, 50,000 polygon annotations).

    python tools/analysis_tools/benchmark_dataloading.py [--work-dir /tmp/refer_bench]

The synthetic files are written once to ``--work-dir`` (a few hundred MB of JSON, and 8 JPEG
images of 640 x 480 that all images of the index point to). Results go to stdout as a
markdown table (docs/benchmarks.md, "Data loading").
"""
import argparse
import json
import os
import os.path as osp
import pickle
import platform
import time
from typing import List

import mmcv
import numpy as np
import torch
from mmengine.dataset import Compose

from mmris.datasets import ReferDataset, load_instances
from mmris.utils import register_all_modules

NUM_IMAGES, NUM_ANNS, NUM_REFS, NUM_SENTS = 19994, 50000, 42404, 120624


def _polygon(rng: np.random.Generator, w: int, h: int) -> List[float]:
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    n = int(rng.integers(12, 40))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.3, 1.0, n) * rng.uniform(20, 150)
    pts = np.stack([np.clip(cx + radii * np.cos(angles), 0, w - 1),
                    np.clip(cy + radii * np.sin(angles), 0, h - 1)], 1)
    return np.round(pts, 2).ravel().tolist()


def write_synthetic(work_dir: str, seed: int = 0) -> None:
    """Write ``instances.json``, ``refs(unc).p`` and 8 images under ``work_dir``."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(work_dir, 'images'), exist_ok=True)
    sizes = [(640, 480), (480, 640)]
    for k in range(8):
        w, h = sizes[k % 2]
        mmcv.imwrite(rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
                     osp.join(work_dir, 'images', f'img{k}.jpg'))
    images = [dict(id=i + 1, file_name=f'img{i % 8}.jpg', width=sizes[i % 8 % 2][0],
                   height=sizes[i % 8 % 2][1]) for i in range(NUM_IMAGES)]
    anns = []
    for a in range(NUM_ANNS):
        img = images[a % NUM_IMAGES]
        parts = [_polygon(rng, img['width'], img['height'])
                 for _ in range(1 if rng.random() < 0.9 else 2)]
        anns.append(dict(id=a + 1, image_id=img['id'], category_id=1, segmentation=parts,
                         iscrowd=0, area=1.0, bbox=[0, 0, 1, 1]))
    counts = np.full(NUM_REFS, NUM_SENTS // NUM_REFS)
    counts[rng.choice(NUM_REFS, NUM_SENTS - counts.sum(), replace=False)] += 1
    refs, sent_id = [], 0
    for r in range(NUM_REFS):
        ann = anns[r]
        sents = []
        for _ in range(counts[r]):
            text = ' '.join(rng.choice(['the', 'man', 'left', 'red', 'shirt', 'on', 'right'],
                                       size=int(rng.integers(2, 9))))
            sents.append(dict(sent_id=sent_id, raw=text, sent=text, tokens=text.split()))
            sent_id += 1
        refs.append(dict(ref_id=r, ann_id=ann['id'], image_id=ann['image_id'], split='train',
                         category_id=1, sentences=sents,
                         sent_ids=[s['sent_id'] for s in sents], file_name='x.jpg'))
    with open(osp.join(work_dir, 'instances.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=[dict(id=1, name='o')]), f)
    with open(osp.join(work_dir, 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f)


def pipelines(scale: int) -> dict:
    train = [dict(type='LoadImageFromFile'), dict(type='LoadReferAnnotation'),
             dict(type='LetterboxResize', scale=(scale, scale)),
             dict(type='ReferRandomFlip', prob=0.5), dict(type='CleanSentence'),
             dict(type='PackReferInputs')]
    test = [dict(type='LoadImageFromFile'), dict(type='LetterboxResize', scale=(scale, scale)),
            dict(type='LoadReferAnnotation'), dict(type='CleanSentence'),
            dict(type='PackReferInputs')]
    return dict(train=train, test=test)


def main() -> None:
    parser = argparse.ArgumentParser(description='ReferDataset loading benchmark')
    parser.add_argument('--work-dir', default='/tmp/mmris_refer_bench')
    parser.add_argument('--samples', type=int, default=300, help='samples timed per pipeline')
    parser.add_argument('--scale', type=int, default=416)
    args = parser.parse_args()
    register_all_modules()
    torch.set_num_threads(1)
    if not osp.isfile(osp.join(args.work_dir, 'refs(unc).p')):
        start = time.perf_counter()
        write_synthetic(args.work_dir)
        print(f'synthetic files written in {time.perf_counter() - start:.1f} s')
    files = dict(data_root=args.work_dir, ann_file='instances.json', split_file='refs(unc).p',
                 data_prefix=dict(img_path='images/'), split='train')
    rows = []
    start = time.perf_counter()
    load_instances(osp.join(args.work_dir, 'instances.json'))
    rows.append(('json.load of instances.json alone (part of the build)', f'{time.perf_counter() - start:.2f} s',
                 f'{osp.getsize(osp.join(args.work_dir, "instances.json")) / 2**20:.0f} MB, '
                 f'{NUM_ANNS} annotations'))
    datasets = {}
    for mode in ('all', 'random'):
        start = time.perf_counter()
        ds = ReferDataset(**files, text_mode=mode, pipeline=pipelines(args.scale)['train'])
        rows.append((f'index build, text_mode="{mode}"', f'{time.perf_counter() - start:.2f} s',
                     f'{len(ds)} samples, {ds.num_refs} refs, serialized '
                     f'{len(ds.data_bytes) / 2**20:.0f} MB'))
        datasets[mode] = ds
    rng = np.random.default_rng(0)
    for name, pipeline in pipelines(args.scale).items():
        ds = datasets['all']
        ds.pipeline = Compose(pipeline)
        idx = rng.choice(len(ds), args.samples, replace=False)
        ds[int(idx[0])]  # warm up
        start = time.perf_counter()
        for i in idx:
            ds[int(i)]
        per = (time.perf_counter() - start) / args.samples
        # the same samples again, transform by transform
        spent = np.zeros(len(ds.pipeline.transforms))
        for i in idx:
            results = ds.get_data_info(int(i))
            for k, transform in enumerate(ds.pipeline.transforms):
                t0 = time.perf_counter()
                results = transform(results)
                spent[k] += time.perf_counter() - t0
        split = ', '.join(f'{type(t).__name__} {1000 * s / args.samples:.2f}'
                          for t, s in zip(ds.pipeline.transforms, spent))
        rows.append((f'per sample, {name} pipeline', f'{1000 * per:.1f} ms',
                     f'640x480 JPEG -> {args.scale}x{args.scale}, mean of {args.samples}, '
                     f'1 process (ms: {split})'))
    print(f'\nmachine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}),'
          f' torch threads 1, python {platform.python_version()}\n')
    print('| step | time | notes |\n|---|---|---|')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')


if __name__ == '__main__':
    main()
