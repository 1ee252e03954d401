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
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict

import torch
from torch import Tensor

from mmris.models.backbones.swin_fusion import convert_official_swin
from mmris.models.layers.pixel_word_attention import PWAM_KEYS
from mmris.models.text_encoders.bert import convert_bert

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


def main() -> None:
    args = parse_args()
    # LAVT saves its argparse Namespace in the file: not loadable with weights_only
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=False)
    state_dict = convert_lavt(checkpoint)
    torch.save(dict(state_dict=state_dict, meta=dict(source=args.src)), args.dst)
    print(f'{len(state_dict)} tensors written to {args.dst}')


if __name__ == '__main__':
    main()
