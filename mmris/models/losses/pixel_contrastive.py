"""CoupAlign's auxiliary pixel contrastive loss, L_P2N + L_N2P."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmris.registry import MODELS


def _term(anchors: Tensor, proto: Tensor, others: Tensor, tau: float, log: bool) -> Tensor:
    """-1/|A| sum_i exp(a_i.p/tau) / (exp(a_i.p/tau) + sum_k exp(a_i.o_k/tau)).

    anchors: A, C; proto: C; others: O, C. Computed through a log-softmax for stability.
    """
    pos = anchors @ proto / tau  # A
    neg = anchors @ others.T / tau  # A, O
    log_ratio = pos - torch.logsumexp(torch.cat([pos[:, None], neg], 1), dim=1)  # A
    return -(log_ratio if log else log_ratio.exp()).mean()


@MODELS.register_module()
class PixelContrastiveLoss(nn.Module):
    """Pixel contrastive loss of CoupAlign (NeurIPS 2022), as written in its slides.

    With P the foreground (positive) and N the background (negative) pixel embeddings of
    one image, y^+ / y^- their prototypes::

        L_P2N = -1/|P| sum_{y_i in P} exp(y_i.y^+/tau)
                                      / (exp(y_i.y^+/tau) + sum_{y_k in N} exp(y_i.y_k/tau))
        L_N2P = the same with P and N swapped
        L = L_P2N + L_N2P

    The slides write the ratio itself, without a logarithm; ``log=True`` gives the usual
    InfoNCE form ``-log(ratio)``. Choices the slides leave open [chosen]: the embeddings are
    L2-normalised per pixel (``normalize``); a prototype is the normalised mean of its set;
    at most ``max_pixels`` pixels of each set are drawn at random per image (the sum over
    N has |P| x |N| terms); images with an empty P or N are skipped; the loss is the mean
    over the images.

    Args:
        tau (float): Temperature. Defaults to 0.1.
        loss_weight (float): Weight of each of the two terms. Defaults to 0.5.
        max_pixels (int): Pixels drawn per set and image. Defaults to 1024.
        normalize (bool): L2-normalise the embeddings. Defaults to True.
        log (bool): ``-log(ratio)`` instead of ``-ratio``. Defaults to False (the slides).
        ignore_index (int): Target value left out. Defaults to 255.
    """

    def __init__(self,
                 tau: float = 0.1,
                 loss_weight: float = 0.5,
                 max_pixels: int = 1024,
                 normalize: bool = True,
                 log: bool = False,
                 ignore_index: int = 255) -> None:
        super().__init__()
        self.tau = tau
        self.loss_weight = loss_weight
        self.max_pixels = max_pixels
        self.normalize = normalize
        self.log = log
        self.ignore_index = ignore_index

    def _draw(self, y: Tensor) -> Tensor:
        if y.shape[0] <= self.max_pixels:
            return y
        return y[torch.randperm(y.shape[0], device=y.device)[:self.max_pixels]]

    def _proto(self, y: Tensor) -> Tensor:
        p = y.mean(0)
        return F.normalize(p, dim=0) if self.normalize else p

    def forward(self, embeds: Tensor, target: Tensor,
                weight: Optional[float] = None) -> Tuple[Tensor, Tensor]:
        """
        Args:
            embeds (Tensor): B, C, h, w pixel embeddings.
            target (Tensor): B, H, W labels (1 = object, 0 = background, ``ignore_index``);
                resized (nearest) to h x w if needed.
            weight (float, optional): Overrides ``loss_weight``.

        Returns:
            tuple[Tensor]: weighted L_P2N and L_N2P (scalars).
        """
        if target.shape[-2:] != embeds.shape[-2:]:
            target = F.interpolate(target[:, None].float(), embeds.shape[-2:],
                                   mode='nearest')[:, 0].long()
        y = embeds.flatten(2).transpose(1, 2).contiguous()  # B, hw, C (a fast normalize)
        if self.normalize:
            y = F.normalize(y, dim=-1)
        t = target.flatten(1)  # B, hw
        p2n, n2p = [], []
        for yb, tb in zip(y, t):
            pos, neg = self._draw(yb[tb == 1]), self._draw(yb[tb == 0])  # P, C / N, C
            if len(pos) == 0 or len(neg) == 0:
                continue
            p2n.append(_term(pos, self._proto(pos), neg, self.tau, self.log))
            n2p.append(_term(neg, self._proto(neg), pos, self.tau, self.log))
        w = self.loss_weight if weight is None else weight
        if not p2n:
            zero = embeds.sum() * 0
            return zero, zero
        return w * torch.stack(p2n).mean(), w * torch.stack(n2p).mean()
