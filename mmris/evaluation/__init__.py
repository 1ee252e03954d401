from .metrics import ReferMetric, RISResultsWriter, add_results_writer, refer_scores
from .results_file import decode_logits, decode_mask, encode_mask, load_results

__all__ = ['ReferMetric', 'refer_scores', 'RISResultsWriter', 'add_results_writer',
           'load_results', 'decode_mask', 'decode_logits', 'encode_mask']
