from .pixel_contrastive import PixelContrastiveLoss

__all__ = ['PixelContrastiveLoss']
