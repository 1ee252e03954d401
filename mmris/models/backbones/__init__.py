from .clip_image import CLIPImageEncoder, DenseAttentionPool2d
from .dinov2_adapter import DINOv2Adapter
from .swin_fusion import SwinFusion, convert_official_swin

__all__ = ['CLIPImageEncoder', 'DenseAttentionPool2d', 'SwinFusion', 'convert_official_swin']
__all__ += ['DINOv2Adapter']
