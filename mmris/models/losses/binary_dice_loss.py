"""Dice loss of one-channel mask logits against a binary target with ignored pixels (mmseg's
``DiceLoss`` one-hot encodes the target over the logits' channels: with one channel it scores
the background, and the ignore label 255 counts as a value)."""
import torch.nn as nn
from torch import Tensor

from mmris.registry import MODELS

__all__ = ['BinaryDiceLoss', 'dice_loss']


def dice_loss(logits: Tensor, target: Tensor, valid: Tensor, eps: float = 1.) -> Tensor:
    """1 - Dice of sigmoid(logits) vs a B, h, w binary target over the valid pixels
    (``eps`` added to numerator and denominator), averaged over the batch."""
    p = logits.sigmoid() * valid
    t = target * valid
    return (1 - (2 * (p * t).flatten(1).sum(1) + eps) /
            (p.flatten(1).sum(1) + t.flatten(1).sum(1) + eps)).mean()


@MODELS.register_module()
class BinaryDiceLoss(nn.Module):
    """:func:`dice_loss` as a ``loss_decode`` entry of the CRIS-style heads (called as
    ``loss(seg_logits, target, ignore_index=...)``).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        eps (float): Added to numerator and denominator. Defaults to 1.0.
        loss_name (str): The key in the losses dict (must start with ``loss_``).
            Defaults to 'loss_dice'.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1.0,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, seg_logits: Tensor, target: Tensor, ignore_index: int = 255,
                **kwargs) -> Tensor:
        """B, 1, h, w logits; B, h, w target of 0 / 1 and ``ignore_index``."""
        valid = (target != ignore_index).to(seg_logits.dtype)
        fg = (target == 1).to(seg_logits.dtype)
        return self.loss_weight * dice_loss(seg_logits[:, 0], fg, valid, self.eps)
