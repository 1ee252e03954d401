from .coupalign_head import CoupAlignHead
from .cris_head import CRISHead
from .lavt_head import LAVTHead
from .mmnet_head import MMNetHead
from .eavl_head import EAVLHead
from .magnet_head import MagNetHead
from .mask_grounding_head import MaskGroundingHead
from .sam2_mask_head import SAM2MaskHead
from .sam_mask_head import SAMMaskHead

__all__ = [
    'CRISHead', 'LAVTHead', 'CoupAlignHead', 'MMNetHead', 'EAVLHead', 'MaskGroundingHead',
    'MagNetHead', 'SAMMaskHead', 'SAM2MaskHead'
]
