from .cross_modal_alignment_loss import CrossModalAlignmentLoss
from .pixel_contrastive import PixelContrastiveLoss

__all__ = ['PixelContrastiveLoss', 'CrossModalAlignmentLoss']
