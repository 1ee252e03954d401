"""Convert an official DETRIS checkpoint (jiaqihuang01/DETRIS, Hugging Face thuteam/DETRIS)
to mmris.

    python tools/model_converters/detris2mmris.py --src large_refcoco.pth --dst detris_l_mmris.pth

The official file (train.py) is a dict with 'epoch', 'cur_iou', 'best_iou', 'prec',
'state_dict', 'optimizer' and 'scheduler'; its 'state_dict' has keys ``module.txt_backbone.*``
(CLIP text + Text Adapters), ``module.dinov2.*`` (DINOv2 + Dense Aligners), ``module.neck.*``,
``module.decoder.*`` and ``module.proj.*``. Only the tensors are read (``weights_only=True``):
a file whose other entries hold objects other than tensors, numbers, strings and containers
is refused; re-save its ``state_dict`` alone with the authors' code. The result loads into the
matching configs/detris config with ``strict=True``.
"""
import argparse

import torch

from mmris.models.utils.detris_converter import convert_detris


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Official DETRIS checkpoint -> mmris')
    parser.add_argument('--src', required=True, help='official checkpoint (.pth)')
    parser.add_argument('--dst', required=True, help='output mmris checkpoint (.pth)')
    parser.add_argument('--word-len', type=int, default=17,
                        help='text length of the model: 22 RefCOCOg-umd, else 17')
    parser.add_argument('--img-size', type=int, default=448,
                        help='input size of the model (DINOv2 positions resampled to it)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    grid = (args.img_size // 14, args.img_size // 14)
    state_dict = convert_detris(checkpoint, word_len=args.word_len, grid=grid)
    torch.save(dict(state_dict=state_dict, meta=dict(source=args.src)), args.dst)
    print(f'{len(state_dict)} tensors written to {args.dst}')


if __name__ == '__main__':
    main()
