from .binary_dice_loss import BinaryDiceLoss, dice_loss
from .cross_modal_alignment_loss import CrossModalAlignmentLoss
from .pixel_contrastive import PixelContrastiveLoss

__all__ = ['BinaryDiceLoss', 'dice_loss', 'PixelContrastiveLoss', 'CrossModalAlignmentLoss']
