"""Convert an official CRIS checkpoint (DerrickWang005/CRIS.pytorch) to mmris.

    python tools/model_converters/cris2mmris.py --src CRIS_R50.pth --dst cris_r50_mmris.pth

The official file is a dict whose 'state_dict' has keys ``module.backbone.*`` (CLIP),
``module.neck.*``, ``module.decoder.*`` and ``module.proj.*``; the result loads into
``configs/_base_/models/cris_r50.py`` (or r101) with ``strict=True``.
"""
import argparse

import torch

from mmris.models.utils.cris_converter import convert_cris


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Official CRIS checkpoint -> mmris')
    parser.add_argument('--src', required=True, help='official checkpoint (.pth)')
    parser.add_argument('--dst', required=True, help='output mmris checkpoint (.pth)')
    parser.add_argument('--word-len', type=int, default=17,
                        help='text length of the model: 17 RefCOCO/+, 22 G-Ref')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    state_dict = convert_cris(checkpoint, word_len=args.word_len)
    torch.save(dict(state_dict=state_dict, meta=dict(source=args.src)), args.dst)
    print(f'{len(state_dict)} tensors written to {args.dst}')


if __name__ == '__main__':
    main()
