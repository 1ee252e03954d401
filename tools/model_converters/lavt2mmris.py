"""Convert a released LAVT checkpoint (yz93/LAVT-RIS) to mmris.

    python tools/model_converters/lavt2mmris.py --src refcoco.pth --dst lavt_refcoco_mmris.pth

The released file is a dict with ``model`` (``backbone.*``: the multi-modal Swin with a PWAM
``fusion`` and a ``res_gate`` per stage; ``classifier.*``: the decoder) and, for the
two-model variant, ``bert_model`` (a Hugging Face ``BertModel``); LAVT-One keeps BERT as
``model['text_encoder.*']``. The result loads into ``configs/_base_/models/lavt_swin-b.py``
with ``strict=True``:

- Swin keys as :func:`mmris.models.backbones.convert_official_swin` (patch-merging weights
  re-ordered for mmcv's nn.Unfold);
- ``layers.i.fusion.*`` -> ``fusions.i.pwam.*`` (1x1 Conv1d -> Linear), ``layers.i.res_gate``
  -> ``fusions.i.gate.layers``;
- ``classifier.conv{a}_{b}`` / ``bn{a}_{b}`` -> ``decode_head.fuses.{4-b}.{a-1}.conv / bn``;
  the 2-class ``conv1_1`` -> the 1-logit ``conv_seg`` (object minus background, the same
  probability);
- BERT -> ``text_encoder.bert.*`` (pooler and position / token-type id buffers dropped).

The file is read with ``torch.load(weights_only=True)``; LAVT's ``train.py`` also saves
``optimizer``, ``epoch``, ``lr_scheduler`` (plain state dicts) and ``args`` (an
``argparse.Namespace``), so ``argparse.Namespace`` and nothing else is allowed on top of the
tensors and plain containers. A file lacking a part (Swin, classifier or BERT) is an error
naming the expected keys; the keys that are not converted are listed.
"""
import argparse
import re
import sys
from collections import OrderedDict
from typing import Dict, List

import torch
from torch import Tensor

from mmris.models.backbones.swin_fusion import convert_official_swin
from mmris.models.layers.pixel_word_attention import PWAM_KEYS
from mmris.models.text_encoders.bert import convert_bert
from mmris.utils.checkpoint import (CheckpointReadError, ConverterInputError,
                                    UnsafeCheckpointError, load_checkpoint_file, require_parts)

# the classes a released LAVT file needs besides tensors and plain containers
SAFE_GLOBALS = [argparse.Namespace]
EXPECTED = {'model["backbone.*"] (Swin + PWAM)': 'backbone.patch_embed.',
            'model["classifier.*"] (decoder)': 'decode_head.',
            'bert_model.* or model["text_encoder.*"] (BERT)': 'text_encoder.bert.'}


def _fusion_key(k: str, v: Tensor):
    """``layers.i.fusion.*`` / ``layers.i.res_gate.*`` -> ``fusions.i.*`` (or None)."""
    m = re.match(r'layers\.(\d+)\.(fusion|res_gate)\.(.*)', k)
    if m is None:
        return None
    i, part, rest = m.groups()
    if part == 'res_gate':
        return f'fusions.{i}.gate.layers.{rest}', v
    for old, new in PWAM_KEYS.items():
        if rest.startswith(old):
            if v.dim() == 3:  # Conv1d k=1 -> Linear
                v = v[..., 0]
            return f'fusions.{i}.pwam.{new}{rest[len(old):]}', v
    raise KeyError(f'unknown LAVT fusion key: {k}')


def convert_backbone(state: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """LAVT ``backbone.*`` (prefix removed) -> mmris ``SwinFusion`` keys."""
    swin, out = OrderedDict(), OrderedDict()
    for k, v in state.items():
        fused = _fusion_key(k, v)
        if fused is not None:
            out[fused[0]] = fused[1]
        else:
            swin[k] = v
    out.update(convert_official_swin(swin))
    return out


def convert_classifier(state: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """LAVT ``classifier.*`` (SimpleDecoding, prefix removed) -> mmris ``LAVTHead`` keys."""
    out = OrderedDict()
    for k, v in state.items():
        m = re.match(r'(conv|bn)(\d)_(\d)\.(.*)', k)
        if m is None:
            raise KeyError(f'unknown LAVT classifier key: {k}')
        kind, a, b, rest = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        if (kind, a, b) == ('conv', 1, 1):  # 2 classes -> 1 logit: object - background
            out[f'conv_seg.{rest}'] = v[1:2] - v[0:1]
        else:
            out[f'fuses.{4 - b}.{a - 1}.{kind}.{rest}'] = v
    return out


def convert_lavt(checkpoint: dict) -> 'OrderedDict[str, Tensor]':
    """A released LAVT checkpoint (``model`` [+ ``bert_model``]) -> mmris state dict."""
    model = checkpoint.get('model', checkpoint)
    parts = dict(backbone=OrderedDict(), classifier=OrderedDict(), text_encoder=OrderedDict())
    for k, v in model.items():
        k = k[len('module.'):] if k.startswith('module.') else k
        head, _, rest = k.partition('.')
        if head not in parts:
            raise KeyError(f'unknown LAVT key: {k}')
        parts[head][rest] = v
    bert = checkpoint.get('bert_model', parts['text_encoder'])
    out = OrderedDict()
    for prefix, conv in (('backbone', convert_backbone(parts['backbone'])),
                         ('decode_head', convert_classifier(parts['classifier'])),
                         ('text_encoder.bert', convert_bert(bert))):
        out.update((f'{prefix}.{k}', v) for k, v in conv.items())
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Released LAVT checkpoint -> mmris')
    parser.add_argument('--src', required=True, help='LAVT checkpoint (.pth)')
    parser.add_argument('--dst', required=True, help='output mmris checkpoint (.pth)')
    return parser.parse_args()


def skipped_keys(checkpoint: dict) -> List[str]:
    """Keys of a released file that :func:`convert_lavt` does not convert."""
    skipped = [k for k in checkpoint if k not in ('model', 'bert_model')] \
        if 'model' in checkpoint else []
    model = checkpoint.get('model', checkpoint)
    bert = checkpoint.get('bert_model') or {
        k.split('text_encoder.', 1)[1]: v for k, v in model.items() if 'text_encoder.' in k}
    kept = convert_bert(bert)
    return skipped + [f'BERT {k}' for k in bert if k not in kept]


def main() -> int:
    args = parse_args()
    try:
        checkpoint = load_checkpoint_file(args.src, map_location='cpu',
                                          safe_globals=SAFE_GLOBALS)
        if not isinstance(checkpoint, dict):
            raise ConverterInputError(f'{args.src}: expected a dict, got '
                                      f'{type(checkpoint).__name__}')
        state_dict = convert_lavt(checkpoint)
        require_parts(state_dict, EXPECTED, args.src, 'LAVT', list(checkpoint))
    except KeyError as e:
        print(f'error: {args.src}: {e.args[0]}; expected keys: {"; ".join(EXPECTED)}',
              file=sys.stderr)
        return 1
    except (UnsafeCheckpointError, CheckpointReadError, ConverterInputError,
            FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'not converted: {skipped_keys(checkpoint)}')
    torch.save(dict(state_dict=state_dict, meta=dict(source=args.src)), args.dst)
    print(f'{len(state_dict)} tensors written to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
