from .attention import MultiheadAttention
from .coord_conv import CoordConv, add_coord
from .dynamic_projector import DynamicProjector
from .positional_encoding import sine_pos_1d, sine_pos_2d
from .vl_decoder import VLDecoder, VLDecoderLayer
from .pixel_word_attention import (PWAM, LanguageGate, PixelWordAttention, PWAMFusion,
                                   WordPixelAlignment)
from .query_decoder import QueryDecoder, QueryDecoderLayer
from .cross_modal_alignment import CrossModalAlignment, WordPixelAttention
from .pixel_decoder import MSDeformAttnPixelDecoder
from .adapter import DenseAdapter, TextCrossAttention
from .multi_query import MultiQueryEstimator, MultiQueryGenerator, VisionLanguageAligner

__all__ = [
    'MultiheadAttention', 'CoordConv', 'add_coord', 'DynamicProjector', 'sine_pos_1d',
    'sine_pos_2d', 'VLDecoder', 'VLDecoderLayer', 'PixelWordAttention', 'LanguageGate',
    'PWAM', 'PWAMFusion', 'WordPixelAlignment', 'QueryDecoder', 'QueryDecoderLayer',
    'MultiQueryGenerator', 'MultiQueryEstimator', 'VisionLanguageAligner',
    'CrossModalAlignment', 'WordPixelAttention', 'MSDeformAttnPixelDecoder', 'DenseAdapter',
    'TextCrossAttention'
]
