"""Write samples of a referring dataset as images: the mask overlaid, the sentence drawn.

    python tools/analysis_tools/browse_dataset.py configs/_base_/datasets/toy_refer.py \
        --output-dir work_dirs/browse --phase train --num 20

The image is the network input (after the pipeline) when the target has its size, else the
original image (test pipelines load the target after the resize).
"""
import argparse
import os
import os.path as osp
import textwrap

import cv2
import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmris.registry import DATASETS
from mmris.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse a referring dataset')
    parser.add_argument('config', help='config file')
    parser.add_argument('--output-dir', default='work_dirs/browse_dataset')
    parser.add_argument('--phase', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--num', type=int, default=20, help='number of samples')
    parser.add_argument('--start', type=int, default=0, help='first sample index')
    parser.add_argument('--alpha', type=float, default=0.5, help='mask opacity')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def render(img: np.ndarray, mask: np.ndarray, text: str, alpha: float = 0.5) -> np.ndarray:
    """Overlay ``mask`` in red on a BGR image and write ``text`` under it.

    Args:
        img (np.ndarray): BGR uint8 image (H, W, 3).
        mask (np.ndarray): (H, W) mask, foreground > 0.
        text (str): The sentence.
        alpha (float): Mask opacity.

    Returns:
        np.ndarray: The drawing, taller than ``img`` by the text band.
    """
    out = img.astype(np.float32).copy()
    fg = mask > 0
    out[fg] = (1 - alpha) * out[fg] + alpha * np.array([0, 0, 255], np.float32)
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(fg.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 255), 1)
    scale = max(0.35, out.shape[1] / 900)
    lines = textwrap.wrap(text or '<empty sentence>', width=max(10, int(out.shape[1] / (16 * scale))))
    line_h = int(28 * scale) + 4
    band = np.zeros((line_h * len(lines) + 6, out.shape[1], 3), np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(band, line, (4, line_h * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([out, band], axis=0)


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules()
    init_default_scope(cfg.get('default_scope', 'mmris'))
    dataset = DATASETS.build(cfg[f'{args.phase}_dataloader'].dataset)
    os.makedirs(args.output_dir, exist_ok=True)
    for idx in range(args.start, min(len(dataset), args.start + args.num)):
        packed = dataset[idx]
        sample = packed['data_samples']
        img = packed['inputs'].permute(1, 2, 0).numpy()
        mask = sample.gt_sem_seg.data[0].numpy() if 'gt_sem_seg' in sample else \
            np.zeros(img.shape[:2], np.uint8)
        if mask.shape != img.shape[:2]:
            img = mmcv.imread(sample.img_path)
        drawing = render(np.ascontiguousarray(img), mask, sample.text, args.alpha)
        name = f'{idx:06d}_ref{sample.ref_id}_sent{sample.sent_id}.jpg'
        mmcv.imwrite(drawing, osp.join(args.output_dir, name))
        print(f'{name}: {sample.text}')


if __name__ == '__main__':
    main()
