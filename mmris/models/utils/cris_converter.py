"""Official CRIS checkpoints (DerrickWang005/CRIS.pytorch) -> mmris state dicts."""
import re
from typing import Dict, Optional

from torch import Tensor

# official neck module -> ours; all are conv-BN-ReLU (``.0`` conv, ``.1`` BN) except the two
# Sequentials kept as they are (txt_proj: Linear-BN1d-ReLU, norm_layer: BN-ReLU)
_NECK = {
    'txt_proj': 'txt_proj', 'norm_layer': 'f5_norm',
    'f1_v_proj': 'f5_proj', 'f2_v_proj': 'f4_proj', 'f2_cat': 'f4_cat',
    'f3_v_proj': 'f3_proj', 'f3_cat': 'f3_cat', 'f4_proj5': 'f5_out', 'f4_proj4': 'f4_out',
    'f4_proj3': 'f3_out', 'aggr': 'aggr', 'coordconv.0.conv1': 'coord_conv.conv',
    'coordconv.1': 'out_conv',
}
_SEQUENTIAL = ('txt_proj', 'norm_layer')
_TEXT = ('token_embedding', 'positional_embedding', 'transformer', 'ln_final',
         'text_projection')
_DROPPED = ('backbone.logit_scale', )


def _conv_bn(rest: str) -> str:
    """``0.weight`` -> ``conv.weight``; ``1.<bn param>`` -> ``bn.<bn param>``."""
    return re.sub(r'^0\.', 'conv.', re.sub(r'^1\.', 'bn.', rest))


def convert_cris_key(key: str) -> Optional[str]:
    """Map one official key (without ``module.``) to ours; None for keys we drop."""
    if key in _DROPPED:
        return None
    part, _, rest = key.partition('.')
    if part == 'backbone':
        if rest.startswith('visual.'):
            return key
        if rest.split('.')[0] in _TEXT:
            return 'text_encoder.text.' + rest
    elif part == 'neck':
        for old, new in sorted(_NECK.items(), key=lambda kv: -len(kv[0])):
            if rest.startswith(old + '.'):
                tail = rest[len(old) + 1:]
                return f'neck.{new}.' + (tail if old in _SEQUENTIAL else _conv_bn(tail))
    elif part == 'decoder':
        return 'decode_head.decoder.' + rest.replace('.multihead_attn.', '.cross_attn.')
    elif part == 'proj':
        if rest.startswith('vis.'):
            idx, _, tail = rest[len('vis.'):].partition('.')
            tail = tail if tail.startswith(('weight', 'bias')) else _conv_bn(tail)
            return f'decode_head.projector.pixel_proj.{idx}.{tail}'
        if rest.startswith('txt.'):
            return 'decode_head.projector.kernel_proj.' + rest[len('txt.'):]
    raise KeyError(f'unknown key in the CRIS checkpoint: {key}')


def convert_cris(state_dict: Dict[str, Tensor], word_len: int = 17) -> Dict[str, Tensor]:
    """Convert an official CRIS state dict to :class:`ReferringEncoderDecoder`'s.

    Args:
        state_dict (dict): The official ``checkpoint['state_dict']`` (``module.`` prefixes
            allowed), or the whole checkpoint.
        word_len (int): Cut the text positional embedding (77 positions in the official
            model) to the model's ``word_len``: 17 for RefCOCO/+ (default), 22 for G-Ref.

    Returns:
        dict[str, Tensor]: mmris keys (``backbone.visual.*``, ``text_encoder.text.*``,
        ``neck.*``, ``decode_head.decoder.*``, ``decode_head.projector.*``).
    """
    if isinstance(state_dict.get('state_dict'), dict):
        state_dict = state_dict['state_dict']
    out = {}
    for key, value in state_dict.items():
        new = convert_cris_key(key[len('module.'):] if key.startswith('module.') else key)
        if new is None:
            continue
        if new == 'text_encoder.text.positional_embedding':
            value = value[:word_len]
        out[new] = value
    return out
