from .clip_image import CLIPImageEncoder, DenseAttentionPool2d
from .swin_fusion import SwinFusion, convert_official_swin

__all__ = ['CLIPImageEncoder', 'DenseAttentionPool2d', 'SwinFusion', 'convert_official_swin']
from .sam_image_encoder import SAMImageEncoder  # noqa: E402
from .sam2_image_encoder import SAM2ImageEncoder  # noqa: E402

__all__ += ['SAMImageEncoder', 'SAM2ImageEncoder']
