"""What a text encoder hands to the rest of a referring segmentor."""
from typing import NamedTuple

from torch import Tensor


class TextFeatures(NamedTuple):
    """Encoded referring expressions of a batch.

    Attributes:
        tokens (Tensor): B, L token ids (long).
        words (Tensor): B, L, D per-token features.
        mask (Tensor): B, L bool padding mask, True = padding (positions after EOT);
            the convention of ``key_padding_mask`` in PyTorch attention.
        sentence (Tensor): B, Ds sentence vector.
    """
    tokens: Tensor
    words: Tensor
    mask: Tensor
    sentence: Tensor
