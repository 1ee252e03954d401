from .clip_image import CLIPImageEncoder, DenseAttentionPool2d
from .swin_fusion import SwinFusion, convert_official_swin

__all__ = ['CLIPImageEncoder', 'DenseAttentionPool2d', 'SwinFusion', 'convert_official_swin']
