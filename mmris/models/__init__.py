from . import backbones, heads, layers, losses, necks, segmentors, text_encoders, utils
from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .text_encoders import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403

__all__ = (backbones.__all__ + heads.__all__ + layers.__all__ + losses.__all__ + necks.__all__ +
           segmentors.__all__ + text_encoders.__all__ + utils.__all__)
