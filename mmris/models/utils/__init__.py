from .clip_checkpoint import (image_tower_state, load_clip_state_dict, load_tower,
                              text_tower_state)
from .cris_converter import convert_cris, convert_cris_key
from .detris_converter import convert_detris, convert_detris_key
from .dinov2_checkpoint import convert_dinov2, resample_dinov2_pos_embed
from .text_features import TextFeatures

__all__ = [
    'TextFeatures', 'load_clip_state_dict', 'image_tower_state', 'text_tower_state',
    'load_tower', 'convert_cris', 'convert_cris_key'
]
__all__ += ['convert_detris', 'convert_detris_key', 'convert_dinov2', 'resample_dinov2_pos_embed']
