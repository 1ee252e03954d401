from .clip_checkpoint import image_tower_state, load_clip_state_dict, text_tower_state
from .content_box import content_box, require_unpadded
from .cris_converter import convert_cris, convert_cris_key
from .detris_converter import convert_detris, convert_detris_key
from .dinov2_checkpoint import convert_dinov2, resample_dinov2_pos_embed
from .frozen import FrozenMixin
from .pretrained import PretrainedMismatchError, check_pretrained, load_pretrained
from .text_features import TextFeatures
from .truncation import TruncationStats

__all__ = [
    'TextFeatures', 'TruncationStats', 'load_clip_state_dict', 'image_tower_state',
    'text_tower_state', 'convert_cris', 'convert_cris_key', 'PretrainedMismatchError',
    'check_pretrained', 'load_pretrained', 'convert_detris', 'convert_detris_key',
    'convert_dinov2', 'resample_dinov2_pos_embed', 'content_box', 'require_unpadded',
    'FrozenMixin'
]
