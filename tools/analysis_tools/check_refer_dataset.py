"""Print refs and sentences per split of REFER / gRefCOCO files, next to the published sizes.

    python tools/analysis_tools/check_refer_dataset.py --data-root data --dataset refcoco
    python tools/analysis_tools/check_refer_dataset.py --split-file x/refs(unc).p \
        --ann-file x/instances.json --build --check-images data/coco/train2014

With ``--build`` every split is also built as a ``ReferDataset`` / ``GReferDataset``, which
runs the structural checks (missing ann_id / image_id, degenerate polygons); with
``--check-images DIR`` the image files of the refs are checked to exist. Split pickles are read
as plain data (``mmris.utils.safe_pickle``): a file naming any other global is refused, with
exit status 1, before anything in it runs.
"""
import argparse
import os.path as osp
import sys
from collections import Counter
from typing import Dict, Optional, Tuple

from mmris.datasets import (GReferDataset, ReferDataset, ReferFormatError, load_instances,
                            load_refs, select_refs)

# name: (ann_file, split_file, splits, dataset type); relative to --data-root.
KNOWN = {
    'refcoco': ('refcoco/instances.json', 'refcoco/refs(unc).p',
                ('train', 'val', 'testA', 'testB')),
    'refcoco+': ('refcoco+/instances.json', 'refcoco+/refs(unc).p',
                 ('train', 'val', 'testA', 'testB')),
    'refcocog_umd': ('refcocog/instances.json', 'refcocog/refs(umd).p',
                     ('train', 'val', 'test')),
    'refcocog_google': ('refcocog/instances.json', 'refcocog/refs(google).p',
                        ('train', 'val')),
    'refclef_unc': ('refclef/instances.json', 'refclef/refs(unc).p',
                    ('train', 'val', 'testA', 'testB', 'testC')),
    'refclef_berkeley': ('refclef/instances.json', 'refclef/refs(berkeley).p',
                         ('train', 'val', 'test')),
    'grefcoco': ('grefcoco/instances.json', 'grefcoco/grefs(unc).json',
                 ('train', 'val', 'testA', 'testB')),
}
# Published sizes (refs, sentences); None where not commonly quoted.
PUBLISHED: Dict[Tuple[str, str], Tuple[Optional[int], Optional[int]]] = {
    ('refcoco', 'train'): (42404, 120624), ('refcoco', 'val'): (3811, 10834),
    ('refcoco', 'testA'): (1975, 5657), ('refcoco', 'testB'): (1810, 5095),
    ('refcoco+', 'train'): (42278, None), ('refcoco+', 'val'): (3805, 10758),
    ('refcoco+', 'testA'): (1975, 5726), ('refcoco+', 'testB'): (1798, 4889),
    ('refcocog_umd', 'train'): (42226, 80512), ('refcocog_umd', 'val'): (2573, 4896),
    ('refcocog_umd', 'test'): (5023, 9602),
    ('refcocog_google', 'train'): (44822, None), ('refcocog_google', 'val'): (5000, None),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count refs / sentences per REFER split')
    parser.add_argument('--dataset', choices=sorted(KNOWN), help='a known dataset')
    parser.add_argument('--data-root', default='data', help='root of the known datasets')
    parser.add_argument('--split-file', help='refs(...).p or grefs(...).json')
    parser.add_argument('--ann-file', help='instances.json (needed by --build)')
    parser.add_argument('--splits', nargs='+', help='splits to count (default: all)')
    parser.add_argument('--build', action='store_true',
                        help='also build each split as a dataset (structural checks)')
    parser.add_argument('--check-images', metavar='DIR',
                        help='check that the image of every ref exists under DIR')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.dataset:
        ann_file, split_file, splits = KNOWN[args.dataset]
        ann_file, split_file = (osp.join(args.data_root, p) for p in (ann_file, split_file))
    elif args.split_file:
        ann_file, split_file, splits = args.ann_file, args.split_file, None
    else:
        sys.exit('give --dataset or --split-file')
    try:
        refs = load_refs(split_file)
    except (ReferFormatError, FileNotFoundError) as e:
        sys.exit(f'error: {e}')
    print(f'{split_file}: {len(refs)} refs, raw split labels '
          f'{dict(sorted(Counter(r["split"] for r in refs).items()))}')
    splits = args.splits or splits or sorted({r['split'] for r in refs})
    gref = any(isinstance(r['ann_id'], (list, tuple)) for r in refs[:100])
    print(f'{"split":<8} {"refs":>8} {"sentences":>10} {"published refs":>15} '
          f'{"published sents":>16}  check')
    for split in splits:
        sel = select_refs(refs, split, split_file)
        n_sents = sum(len(r['sentences']) for r in sel)
        pub_refs, pub_sents = PUBLISHED.get((args.dataset, split), (None, None))
        ok = all(p is None or p == n for p, n in ((pub_refs, len(sel)), (pub_sents, n_sents)))
        known = pub_refs is not None or pub_sents is not None
        print(f'{split:<8} {len(sel):>8} {n_sents:>10} {pub_refs or "-":>15} '
              f'{pub_sents or "-":>16}  {("ok" if ok else "DIFFERS") if known else ""}')
        if args.build:
            cls = GReferDataset if gref else ReferDataset
            ds = cls(ann_file=ann_file, split_file=split_file, split=split, text_mode='all')
            print(f'         built {cls.__name__}: {len(ds)} samples, {ds.num_refs} refs')
    if args.check_images:
        images, _ = load_instances(ann_file)
        missing = sorted({images[r['image_id']]['file_name'] for r in refs
                          if r['image_id'] in images and not osp.isfile(
                              osp.join(args.check_images, images[r['image_id']]['file_name']))})
        print(f'images missing under {args.check_images}: {len(missing)} {missing[:5]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
