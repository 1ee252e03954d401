"""Counting the sentences a text encoder cuts to its ``word_len``."""
from typing import Dict, Optional, Sequence

__all__ = ['TruncationStats']


class TruncationStats:
    """Per-mode tally of the sentences a text encoder tokenized and of those it cut.

    A text encoder calls :meth:`update` from its ``tokenize`` with the number of tokens each
    sentence needs (special tokens included) and whether the module is training; the
    ``TextTruncationHook`` reads, all-gathers and logs the totals once per run. Plain Python
    numbers: nothing goes into the state dict.

    Args:
        word_len (int): The tokens the encoder keeps per sentence.
    """

    MODES = ('train', 'eval')

    def __init__(self, word_len: int) -> None:
        self.word_len = word_len
        self.reset()

    def reset(self) -> None:
        """Forget all counts."""
        self.counts: Dict[str, dict] = {
            mode: dict(seen=0, cut=0, longest=0, longest_text=None) for mode in self.MODES}

    def update(self, texts: Sequence[str], lengths: Sequence[int], training: bool) -> None:
        """Record a tokenized batch.

        Args:
            texts (Sequence[str]): The sentences.
            lengths (Sequence[int]): Tokens each needs before any cut.
            training (bool): Whether the encoder is in training mode.
        """
        c = self.counts['train' if training else 'eval']
        c['seen'] += len(lengths)
        for text, n in zip(texts, lengths):
            if n > self.word_len:
                c['cut'] += 1
                if n > c['longest']:
                    c['longest'], c['longest_text'] = n, text

    @staticmethod
    def merge(parts: Sequence[Optional[dict]]) -> dict:
        """Sum the counts of one mode over several encoders or ranks."""
        out = dict(seen=0, cut=0, longest=0, longest_text=None)
        for p in parts:
            if not p:
                continue
            out['seen'] += p['seen']
            out['cut'] += p['cut']
            if p['longest'] > out['longest']:
                out['longest'], out['longest_text'] = p['longest'], p['longest_text']
        return out
