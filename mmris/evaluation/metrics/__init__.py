from .refer_metric import ReferMetric, refer_scores
from .results_writer import RISResultsWriter, add_results_writer

__all__ = ['ReferMetric', 'refer_scores', 'RISResultsWriter', 'add_results_writer']
