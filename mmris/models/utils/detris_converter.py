"""Official DETRIS checkpoints (jiaqihuang01/DETRIS, thuteam/DETRIS) -> mmris state dicts."""
import re
from typing import Dict, Optional, Tuple

from torch import Tensor

from .cris_converter import convert_cris_key
from .dinov2_checkpoint import convert_dinov2

# official neck module -> ours (conv_layer Sequentials: ``.0`` conv, ``.1`` BN)
_NECK = {'f3_proj': 'f3_proj', 'f4_proj': 'f4_proj', 'f5_proj': 'f5_proj', 'aggr': 'aggr',
         'coordconv.0.conv1': 'coord_conv.conv', 'coordconv.1': 'out_conv'}
_GATES = {'fusion3': 0, 'fusion4': 1, 'fusion5': 2}
_DROPPED = ('txt_backbone.logit_scale', )


def _conv_bn(rest: str) -> str:
    """``0.weight`` -> ``conv.weight``; ``1.<bn param>`` -> ``bn.<bn param>``."""
    return re.sub(r'^0\.', 'conv.', re.sub(r'^1\.', 'bn.', rest))


def convert_adapter_key(rest: str) -> str:
    """A key inside DETRIS's TextAdapter / DenseAligner -> :class:`DenseAdapter`'s."""
    rest = rest.replace('D_fc1.', 'down.').replace('D_fc2.', 'up.')
    rest = rest.replace('cross.multihead_attn.', 'cross.attn.')
    # BasicConv{1,2}d: .conv / .bn -> Sequential .0 / .1
    rest = re.sub(r'^dense_branch(\d)\.((?:\d\.)?)conv\.', r'branch\1.\g<2>0.', rest)
    return re.sub(r'^dense_branch(\d)\.((?:\d\.)?)bn\.', r'branch\1.\g<2>1.', rest)


def convert_detris_key(key: str) -> Optional[str]:
    """Map one official key (without ``module.``) to ours; None for keys dropped. DINOv2's
    own keys map to ``backbone.vit.`` + the Meta key (:func:`convert_detris` converts them
    to timm's layout as a group)."""
    if key in _DROPPED:
        return None
    part, _, rest = key.partition('.')
    m = re.match(r'^(?:transformer\.resblocks|blocks)\.(\d+)\.adapter\.(.*)$', rest)
    if part == 'txt_backbone':
        if m:
            return f'text_encoder.adapters.{m.group(1)}.' + convert_adapter_key(m.group(2))
        return convert_cris_key('backbone.' + rest)
    if part == 'dinov2':
        if m:
            return f'backbone.adapters.{m.group(1)}.' + convert_adapter_key(m.group(2))
        return 'backbone.vit.' + rest
    if part == 'neck':
        if rest.startswith('txt_proj.'):
            return 'neck.' + rest
        name, _, tail = rest.partition('.')
        if name in _GATES:
            return f'neck.gates.{_GATES[name]}.' + tail.replace('multihead_attn.', '', 1)
        for old, new in sorted(_NECK.items(), key=lambda kv: -len(kv[0])):
            if rest.startswith(old + '.'):
                return f'neck.{new}.' + _conv_bn(rest[len(old) + 1:])
    if part in ('decoder', 'proj'):
        return convert_cris_key(key)
    raise KeyError(f'unknown key in the DETRIS checkpoint: {key}')


def convert_detris(state_dict: Dict[str, Tensor], word_len: int = 17,
                   grid: Tuple[int, int] = (32, 32)) -> Dict[str, Tensor]:
    """Convert an official DETRIS state dict to :class:`ReferringEncoderDecoder`'s.

    Args:
        state_dict (dict): The official ``checkpoint['state_dict']`` (``module.`` prefixes
            allowed), or the whole checkpoint (``epoch``, ``state_dict``, ``optimizer``, ...).
        word_len (int): Cut the text positional embedding (77 positions) to the model's
            ``word_len``: 17 (RefCOCO/+, RefCOCOg-google, mixed) or 22 (RefCOCOg-umd).
        grid (tuple[int]): Patch grid of the model's input (32 x 32 at 448): DINOv2's
            37 x 37 position embedding is resampled to it as DINOv2 does at run time.

    Returns:
        dict[str, Tensor]: mmris keys (``backbone.vit.*`` in timm's layout,
        ``backbone.adapters.*``, ``text_encoder.text.*``, ``text_encoder.adapters.*``,
        ``neck.*``, ``decode_head.*``).
    """
    if isinstance(state_dict.get('state_dict'), dict):
        state_dict = state_dict['state_dict']
    out, dino = {}, {}
    for key, value in state_dict.items():
        new = convert_detris_key(key[len('module.'):] if key.startswith('module.') else key)
        if new is None:
            continue
        if new == 'text_encoder.text.positional_embedding':
            value = value[:word_len]
        if new.startswith('backbone.vit.'):
            dino[new[len('backbone.vit.'):]] = value
        else:
            out[new] = value
    out.update({'backbone.vit.' + k: v for k, v in convert_dinov2(dino, grid).items()})
    return out
