from .formatting import REFER_META_KEYS, PackReferInputs
from .geometric import (CLIP_MEAN_BGR, SAM_MEAN_BGR, LetterboxResize, ReferRandomFlip,
                        ResizeLongestSide, RISResize)
from .loading import LoadReferAnnotation, decode_segmentation
from .text import BlankSentence, CleanSentence, swap_left_right
from .views import ImageView

__all__ = [
    'LoadReferAnnotation', 'decode_segmentation', 'LetterboxResize', 'RISResize',
    'ResizeLongestSide', 'ImageView', 'ReferRandomFlip', 'CleanSentence', 'BlankSentence',
    'swap_left_right', 'PackReferInputs', 'REFER_META_KEYS', 'CLIP_MEAN_BGR', 'SAM_MEAN_BGR'
]
