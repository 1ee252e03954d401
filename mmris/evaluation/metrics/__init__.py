from .refer_metric import ReferMetric, refer_scores

__all__ = ['ReferMetric', 'refer_scores']
