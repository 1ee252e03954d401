"""CoupAlign head: pixel decoder, mask generator (query decoder), Sentence-Mask Alignment."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmris.registry import MODELS
from ..layers.query_decoder import QueryDecoder
from ..utils.text_features import TextFeatures
from .lavt_head import LAVTHead


@MODELS.register_module()
class CoupAlignHead(LAVTHead):
    """CoupAlign's late stage on the WPA-aligned Swin maps.

    1. Pixel decoder: LAVT's top-down decoder (:class:`LAVTHead`), its stride-4 map
       projected (1x1) to the per-pixel embeddings Y (B, C, H/4, W/4).
    2. Mask generator: a Mask2Former-style :class:`QueryDecoder`; N queries attend to the
       stride 32 / 16 / 8 maps (the last Swin stage and the decoder's first two maps) and
       give N mask embeddings Q; proposals ``Q . Y`` (B, N, H/4, W/4).
    3. Sentence-Mask Alignment: weights ``softmax_n(<W_s L_g, W_q Q_n> / sqrt(C))`` from
       the sentence feature L_g and the mask embeddings; the final logits are the weighted
       sum of the proposals (B, 1, H/4, W/4).

    Losses: LAVT's weighted cross-entropy on the final mask (and, with
    ``deep_supervision``, on the SMA mask of every earlier decoder state, as Mask2Former
    supervises every layer), plus the pixel contrastive L_P2N + L_N2P on Y.

    Args:
        in_channels (Sequence[int]): Swin stage channels, fine to coarse.
            Defaults to (128, 256, 512, 1024).
        channels (int, optional): Pixel decoder width. Defaults to ``in_channels[-1] // 2``.
        sentence_dims (int): Width of the sentence feature (768 BERT-base). Defaults to 768.
        embed_dims (int): Width of queries, mask and pixel embeddings. Defaults to 256.
        num_queries (int): N mask embeddings [chosen]. Defaults to 16.
        num_layers (int): Query decoder layers. Defaults to 6.
        num_heads (int): Query decoder heads. Defaults to 8.
        feedforward_channels (int): Query decoder FFN width. Defaults to 2048.
        dropout (float): Query decoder dropout. Defaults to 0.
        deep_supervision (bool): Mask loss on every decoder state. Defaults to True.
        loss_contrastive (dict, optional): ``PixelContrastiveLoss`` config (tau, weight);
            None: no auxiliary loss.
        **kwargs: :class:`LAVTHead` arguments (``class_weight``, ``loss_weight``,
            ``norm_cfg``, ``ignore_index``, ``threshold``, ``init_cfg``).
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512, 1024),
                 channels: Optional[int] = None,
                 sentence_dims: int = 768,
                 embed_dims: int = 256,
                 num_queries: int = 16,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.,
                 deep_supervision: bool = True,
                 loss_contrastive: Optional[dict] = dict(
                     type='PixelContrastiveLoss', tau=0.1, loss_weight=0.5),
                 **kwargs) -> None:
        super().__init__(in_channels, channels, **kwargs)
        del self.conv_seg  # the final mask comes from the proposals
        self.deep_supervision = deep_supervision
        self.pixel_proj = nn.Conv2d(self.channels, embed_dims, 1)
        self.query_decoder = QueryDecoder(
            [self.in_channels[-1], self.channels, self.channels], embed_dims, num_queries,
            num_layers, num_heads, feedforward_channels, dropout)
        self.sentence_proj = nn.Linear(sentence_dims, embed_dims)
        self.mask_proj = nn.Linear(embed_dims, embed_dims)
        self.contrastive = MODELS.build(loss_contrastive) if loss_contrastive else None

    def sma(self, embeds: Tensor, masks: Tensor, sentence: Tensor) -> Tensor:
        """Sentence-Mask Alignment.

        Args:
            embeds (Tensor): B, N, C mask embeddings.
            masks (Tensor): B, N, h, w proposal logits.
            sentence (Tensor): B, Ds.

        Returns:
            Tensor: B, 1, h, w logits.
        """
        s = self.sentence_proj(sentence)  # B, C
        scores = torch.einsum('bnc,bc->bn', self.mask_proj(embeds), s) / s.shape[-1]**0.5
        w = scores.softmax(dim=1)  # B, N
        return torch.einsum('bn,bnhw->bhw', w, masks)[:, None]

    def forward_all(self, x: Sequence[Tensor], text: TextFeatures):
        """Stage maps -> (SMA logits of every decoder state, B, 1, H/4, W/4 each, the last
        final; per-pixel embeddings B, C, H/4, W/4)."""
        x = self._transform_inputs(x)
        y16, y8, y4 = self.decode(x)  # B, channels, H/16 | H/8 | H/4
        pixel = self.pixel_proj(y4)  # B, C, H/4, W/4
        preds = self.query_decoder([x[-1], y16, y8], pixel)
        logits = [self.sma(p['embeds'], p['masks'], text.sentence) for p in preds]
        return logits, pixel

    def forward(self, x: Sequence[Tensor], text: TextFeatures) -> Tensor:
        """Stage maps + text -> B, 1, H/4, W/4 logits."""
        return self.forward_all(x, text)[0][-1]

    def loss(self, x: Sequence[Tensor], text: TextFeatures, batch_data_samples: List,
             train_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
        """``loss_mask`` (+ ``loss_mask_d{i}``), ``loss_p2n``, ``loss_n2p``, ``iou_seg``."""
        logits, pixel = self.forward_all(x, text)
        target = self._target(batch_data_samples)
        losses = dict(loss_mask=self.mask_loss(logits[-1], target))
        if self.deep_supervision:
            for i, lg in enumerate(logits[:-1]):
                losses[f'loss_mask_d{i}'] = self.mask_loss(lg, target)
        if self.contrastive is not None:
            losses['loss_p2n'], losses['loss_n2p'] = self.contrastive(pixel, target)
        losses['iou_seg'] = self._iou_log(logits[-1], target)
        return losses
