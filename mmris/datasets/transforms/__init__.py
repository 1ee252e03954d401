from .formatting import REFER_META_KEYS, PackReferInputs
from .geometric import CLIP_MEAN_BGR, LetterboxResize, ReferRandomFlip, RISResize
from .loading import LoadReferAnnotation, decode_segmentation
from .text import BlankSentence, CleanSentence, swap_left_right

__all__ = [
    'LoadReferAnnotation', 'decode_segmentation', 'LetterboxResize', 'RISResize',
    'ReferRandomFlip', 'CleanSentence', 'BlankSentence', 'swap_left_right', 'PackReferInputs',
    'REFER_META_KEYS', 'CLIP_MEAN_BGR'
]
from .geometric import SAM_MEAN_BGR, ResizeLongestSide  # noqa: E402
from .views import ImageView  # noqa: E402

__all__ += ['ResizeLongestSide', 'SAM_MEAN_BGR', 'ImageView']
