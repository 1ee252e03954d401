"""Segment what a sentence describes in an image, and draw it.

Examples:
    # one sentence -> one overlay
    python demo/image_demo.py demo/demo.png "the red ball" \\
        configs/cris/cris_r50_8xb8-50e_refcoco-416.py cris_r50_refcoco.pth --out-file out.png
    # several sentences -> one overlay per sentence, out/<stem>_sent<i>.png
    python demo/image_demo.py demo/demo.png "the red ball" "the blue square" \\
        CONFIG CHECKPOINT --out-dir out
    # a model name from model-index.yml instead of a config file
    python demo/image_demo.py demo/demo.png "the red ball" cris-r50-refcoco CHECKPOINT \\
        --out-file out.png
"""
import os.path as osp
from argparse import ArgumentParser, Namespace
from typing import List, Optional, Sequence

import mmcv


def parse_args(argv: Optional[Sequence[str]] = None) -> Namespace:
    parser = ArgumentParser(
        description='Referring segmentation of one image: one overlay per sentence')
    parser.add_argument('img', help='image file')
    parser.add_argument('texts', nargs='+', metavar='sentence',
                        help='one or more sentences (quote each)')
    parser.add_argument('config', help='config file, or a model name from model-index.yml')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-file', default=None,
        help='where to write the overlay; with several sentences, <name>_sent<i><ext>')
    parser.add_argument(
        '--out-dir', default=None,
        help='folder for the overlays (vis/<stem>_sent<i>.png) and masks '
        '(pred/<stem>_sent<i>.png, 0 / 255)')
    parser.add_argument('--device', default=None, help='e.g. cpu, cuda:0 (default: auto)')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='opacity of the mask overlay, in (0, 1]')
    parser.add_argument('--show', action='store_true', help='show the overlays in a window')
    parser.add_argument('--wait-time', type=float, default=0,
                        help='seconds each shown overlay stays (0: until a key)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='sentences per forward pass')
    args = parser.parse_args(argv)
    if not 0 < args.opacity <= 1:
        parser.error(f'--opacity must be in (0, 1], got {args.opacity}')
    if not (args.out_file or args.out_dir or args.show):
        parser.error('nothing to do: give --out-file, --out-dir or --show')
    return args


def out_files(out_file: str, num: int) -> List[str]:
    """``out_file`` for one sentence; ``<name>_sent<i><ext>`` for each of several."""
    if num == 1:
        return [out_file]
    name, ext = osp.splitext(out_file)
    return [f'{name}_sent{i}{ext or ".png"}' for i in range(num)]


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    from mmris.apis import RISInferencer

    inferencer = RISInferencer(args.config, weights=args.checkpoint, device=args.device,
                               show_progress=False)
    result = inferencer(
        args.img, list(args.texts), batch_size=args.batch_size, show=args.show,
        wait_time=args.wait_time, out_dir=args.out_dir or '', opacity=args.opacity,
        return_vis=bool(args.out_file))
    preds = result['predictions']
    if args.out_file:
        for path, vis in zip(out_files(args.out_file, len(preds)), result['visualization']):
            mmcv.imwrite(mmcv.rgb2bgr(vis), path)
            print(f'wrote {path}')
    if args.out_dir:
        print(f'wrote {len(preds)} overlays to {osp.join(args.out_dir, "vis")} and masks to '
              f'{osp.join(args.out_dir, "pred")}')
    for pred in preds:
        cut = f', cut to the first tokens of {pred["num_tokens"]}' if pred['truncated'] else ''
        print(f'sentence {pred["sent_id"]} "{pred["text"]}": {int(pred["mask"].sum())} '
              f'pixels, score {pred["score"]:.3f}{cut}')
    return preds


if __name__ == '__main__':
    main()
