from .gated_aggregation_neck import GatedAggregationNeck
from .sentence_gated_fpn import SentenceGatedFPN

__all__ = ['SentenceGatedFPN', 'GatedAggregationNeck']
