"""Write the toy referring dataset (REFER layout) used by configs/_base_/datasets/toy_refer.py.

    python tools/dataset_converters/generate_toy_data.py --out data/toy [--seed 0]
"""
import argparse
import json
import time

from mmris.datasets.toy import generate_toy_refer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate the toy referring dataset')
    parser.add_argument('--out', default='data/toy', help='output root')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    for split, n in (('train', 2000), ('val', 150), ('testA', 100), ('testB', 100)):
        parser.add_argument(f'--num-{split}', type=int, default=n, help=f'{split} images')
    parser.add_argument('--refs-per-image', type=int, default=2)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    report = generate_toy_refer(
        args.out, seed=args.seed, refs_per_image=args.refs_per_image,
        num_images=dict(train=args.num_train, val=args.num_val, testA=args.num_testA,
                        testB=args.num_testB))
    print(json.dumps(report, indent=2))
    print(f'written to {args.out} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
