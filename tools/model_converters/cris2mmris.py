"""Convert an official CRIS checkpoint (DerrickWang005/CRIS.pytorch) to mmris.

    python tools/model_converters/cris2mmris.py --src CRIS_R50.pth --dst cris_r50_mmris.pth

The official file is a dict whose 'state_dict' has keys ``module.backbone.*`` (CLIP),
``module.neck.*``, ``module.decoder.*`` and ``module.proj.*``; the result loads into
``configs/_base_/models/cris_r50.py`` (or r101) with ``strict=True``.

The file is read with ``torch.load(weights_only=True)`` (the official ``scheduler`` state holds a
``collections.Counter``, which mmris allows for every checkpoint). A file lacking a part (CLIP
image or text tower, neck, decoder, projector) is an error naming the expected keys; the keys
that are not converted are listed.
"""
import argparse
import sys

import torch

from mmris.models.utils.cris_converter import convert_cris
from mmris.utils.checkpoint import (CheckpointReadError, ConverterInputError,
                                    UnsafeCheckpointError, load_checkpoint_file, require_parts)

EXPECTED = {'state_dict["module.backbone.visual.*"] (CLIP image)': 'backbone.visual.',
            'state_dict["module.backbone.*"] (CLIP text)': 'text_encoder.text.',
            'state_dict["module.neck.*"]': 'neck.',
            'state_dict["module.decoder.*"]': 'decode_head.decoder.',
            'state_dict["module.proj.*"]': 'decode_head.projector.'}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Official CRIS checkpoint -> mmris')
    parser.add_argument('--src', required=True, help='official checkpoint (.pth)')
    parser.add_argument('--dst', required=True, help='output mmris checkpoint (.pth)')
    parser.add_argument('--word-len', type=int, default=17,
                        help='text length of the model: 17 RefCOCO/+, 22 G-Ref')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        checkpoint = load_checkpoint_file(args.src, map_location='cpu')
        if not isinstance(checkpoint, dict):
            raise ConverterInputError(f'{args.src}: expected a dict, got '
                                      f'{type(checkpoint).__name__}')
        state_dict = convert_cris(checkpoint, word_len=args.word_len)
        require_parts(state_dict, EXPECTED, args.src, 'CRIS', list(checkpoint))
    except KeyError as e:
        print(f'error: {args.src}: {e.args[0]}; expected keys: {"; ".join(EXPECTED)}',
              file=sys.stderr)
        return 1
    except (UnsafeCheckpointError, CheckpointReadError, ConverterInputError,
            FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    inner = checkpoint.get('state_dict') if isinstance(checkpoint.get('state_dict'), dict) \
        else checkpoint
    skipped = [k for k in checkpoint if k != 'state_dict'] if inner is not checkpoint else []
    skipped += [k for k in inner if k.replace('module.', '', 1) == 'backbone.logit_scale']
    print(f'not converted: {skipped}')
    torch.save(dict(state_dict=state_dict, meta=dict(source=args.src)), args.dst)
    print(f'{len(state_dict)} tensors written to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
