"""Write the toy referring dataset (REFER layout) used by configs/_base_/datasets/toy_refer.py,
and the tiny BERT directory (``<out>/bert-tiny``) of the toy MagNet config.

    python tools/dataset_converters/generate_toy_data.py --out data/toy [--seed 0]
    python tools/dataset_converters/generate_toy_data.py --out data/toy --bert-only
"""
import argparse
import json
import os.path as osp
import time

from mmris.datasets.toy import TOY_BERT_DIR, generate_toy_refer, write_toy_bert


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate the toy referring dataset')
    parser.add_argument('--out', default='data/toy', help='output root')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    for split, n in (('train', 2000), ('val', 150), ('testA', 100), ('testB', 100)):
        parser.add_argument(f'--num-{split}', type=int, default=n, help=f'{split} images')
    parser.add_argument('--refs-per-image', type=int, default=2)
    parser.add_argument('--bert-only', action='store_true',
                        help=f'only write <out>/{TOY_BERT_DIR} (e.g. for toy data generated '
                        'before it existed)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.bert_only:
        print(f'written {write_toy_bert(osp.join(args.out, TOY_BERT_DIR))}')
        return
    start = time.perf_counter()
    report = generate_toy_refer(
        args.out, seed=args.seed, refs_per_image=args.refs_per_image,
        num_images=dict(train=args.num_train, val=args.num_val, testA=args.num_testA,
                        testB=args.num_testB))
    print(json.dumps(report, indent=2))
    print(f'written to {args.out} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
