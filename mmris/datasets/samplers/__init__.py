from .image_grouped_sampler import ImageGroupedSampler

__all__ = ['ImageGroupedSampler']
