from .clip_image import CLIPImageEncoder, DenseAttentionPool2d

__all__ = ['CLIPImageEncoder', 'DenseAttentionPool2d']
