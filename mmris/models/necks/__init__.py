from .sentence_gated_fpn import SentenceGatedFPN

__all__ = ['SentenceGatedFPN']
