from .clip_image import CLIPImageEncoder, DenseAttentionPool2d
from .dinov2_adapter import DINOv2Adapter
from .sam2_image_encoder import SAM2ImageEncoder
from .sam_image_encoder import SAMImageEncoder
from .swin_fusion import SwinFusion, convert_official_swin

__all__ = [
    'CLIPImageEncoder', 'DenseAttentionPool2d', 'SwinFusion', 'convert_official_swin',
    'DINOv2Adapter', 'SAMImageEncoder', 'SAM2ImageEncoder'
]
