"""MagNet's Cross-modal Alignment Loss: pixel-to-pixel and pixel-to-text contrastive terms."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS
from .pixel_contrastive import PixelContrastiveLoss


@MODELS.register_module()
class CrossModalAlignmentLoss(nn.Module):
    """L_CAL = L_p2p + L_p2t on the per-pixel embeddings Y (B, C, h, w) and a text
    embedding t (B, C) in the same space.

    The paper names the two terms; their forms, temperature and weights are not in our
    sources [chosen]:

    * L_p2p: InfoNCE between pixels, :class:`PixelContrastiveLoss` with ``log=True``
      (object pixels to the object prototype against background pixels, and the reverse;
      their sum);
    * L_p2t: each pixel against the sentence, ``BCE(cos(y_i, t) / tau + b, gt_i)`` (object
      pixels pulled to the sentence, background pushed away; ``b`` a learned bias), averaged
      over the valid pixels.

    Args:
        tau (float): Temperature of both terms. Defaults to 0.1.
        p2p_weight (float): Weight of L_p2p. Defaults to 0.5.
        p2t_weight (float): Weight of L_p2t. Defaults to 0.5.
        max_pixels (int): Pixels drawn per set and image for L_p2p. Defaults to 1024.
        ignore_index (int): Ignored label. Defaults to 255.
    """

    def __init__(self,
                 tau: float = 0.1,
                 p2p_weight: float = 0.5,
                 p2t_weight: float = 0.5,
                 max_pixels: int = 1024,
                 ignore_index: int = 255) -> None:
        super().__init__()
        self.tau = tau
        self.p2t_weight = p2t_weight
        self.ignore_index = ignore_index
        self.p2p = PixelContrastiveLoss(tau, p2p_weight, max_pixels, log=True,
                                        ignore_index=ignore_index)
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, embeds: Tensor, text: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            embeds (Tensor): B, C, h, w pixel embeddings.
            text (Tensor): B, C text embedding.
            target (Tensor): B, H, W labels (resized nearest to h x w).

        Returns:
            tuple[Tensor]: weighted L_p2p and L_p2t.
        """
        if target.shape[-2:] != embeds.shape[-2:]:
            target = F.interpolate(target[:, None].float(), embeds.shape[-2:],
                                   mode='nearest')[:, 0].long()
        p2n, n2p = self.p2p(embeds, target)
        y = F.normalize(embeds.flatten(2).transpose(1, 2).contiguous(), dim=-1)  # B, hw, C
        sim = torch.einsum('bnc,bc->bn', y, F.normalize(text, dim=-1)) / self.tau
        sim = sim.view(target.shape)  # B, h, w: cosine similarity / tau
        valid = target != self.ignore_index
        p2t = F.binary_cross_entropy_with_logits(sim[valid] + self.bias,
                                                 (target[valid] == 1).float())
        return p2n + n2p, self.p2t_weight * p2t


__all__ = ['CrossModalAlignmentLoss']
