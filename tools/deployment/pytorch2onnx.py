"""Export a referring segmentor to ONNX: image tensor + token ids (+ padding mask) -> logits.

The graph takes ``img`` (B, 3, H, W float32, normalised as the config's data preprocessor
does, at its ``size``), ``tokens`` (B, L int64 token ids of the config's text encoder) and,
for BERT text encoders, ``pad_mask`` (B, L bool, True = padding); it returns ``logits``
(B, 1, h, w, at the head's resolution). The batch is dynamic. Tokenization, resize /
letterbox and post-processing are not in the graph: ``RISInferencer(CONFIG,
backend='onnxruntime', onnx_file=...)`` runs them in the same Python code as PyTorch.

Examples:
    python tools/deployment/pytorch2onnx.py configs/cris/cris_r50_8xb8-50e_refcoco-416.py \\
        cris_r50_refcoco.pth --out cris_r50.onnx --verify
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

import torch


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmris.deployment import DEFAULT_OPSET
    parser = argparse.ArgumentParser(description='Export a referring segmentor to ONNX')
    parser.add_argument('config', help='config file, or a model name from model-index.yml')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument('--verify', action='store_true',
                        help='run the graph with onnxruntime and print the max abs difference '
                        'of its logits from PyTorch\'s')
    parser.add_argument('--int8', metavar='FILE',
                        help='also write onnxruntime\'s dynamic int8 quantization of the graph')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    from mmris.apis import RISInferencer
    from mmris.deployment import (ORTSegmentor, RISTensorModel, example_inputs, export_onnx,
                                  quantize_int8)

    # the inferencer checks the files and loads the checkpoint strictly
    inferencer = RISInferencer(args.config, weights=args.checkpoint, device='cpu',
                               show_progress=False)
    model = inferencer.model.eval()
    cfg_name = osp.basename(inferencer.cfg.filename or str(args.config))
    names = export_onnx(model, args.out, opset=args.opset,
                        metadata=dict(config=cfg_name, opset=str(args.opset)))
    print(f'wrote {args.out} (opset {args.opset}, inputs {", ".join(names)}, output logits; '
          'batch dynamic)')
    result = dict(out=args.out, inputs=names)
    if args.verify:
        inputs = example_inputs(model, batch_size=3)
        with torch.no_grad():
            ref = RISTensorModel(model)(*inputs)
        diff = (ORTSegmentor(args.out)(*inputs) - ref).abs().max().item()
        print(f'onnxruntime vs PyTorch, batch 3: max abs logit difference {diff:.3g}')
        result['max_abs_diff'] = diff
    if args.int8:
        quantize_int8(args.out, args.int8)
        print(f'wrote {args.int8} (dynamic int8 quantization)')
    return result


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
