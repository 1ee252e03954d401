"""EAVL head: CRIS's decoder with the Vision-Language Aligner in place of its projector."""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmris.registry import MODELS
from ..layers import (VisionLanguageAligner, VLDecoder, VLDecoderLayer, sine_pos_1d,
                      sine_pos_2d)
from ..layers.multi_query import unpack_neck_outputs
from ..utils.text_features import TextFeatures
from .cris_head import CRISHead, check_loss_resolution


@MODELS.register_module()
class EAVLHead(BaseDecodeHead):
    """Pixels attend to the words (CRIS decoder), queries from the multi-query generator
    attend to the pixels (query decoder), then the Vision-Language Aligner: one dynamic-kernel
    mask per query, summed with the multi-query estimator's scores.

    Plug-and-play: with a query generator working on the neck output (no ``visual_neck``,
    no global vector) it replaces :class:`CRISHead` in a CRIS config as it is. With
    ``SentenceGatedFPN(return_inputs=True)`` and an encoder with ``out_global=True`` the
    generator can use the encoder's maps and global vector (MMNet's generator). Output:
    B x 1 x 4h x 4w logits; loss, training log and predict as :class:`CRISHead`.

    Args:
        in_channels (int): Width of the neck output (decoder width). Defaults to 512.
        channels (int): Channels the dynamic kernels act on. Defaults to 256.
        text_dims (int, optional): Word width. Defaults to ``in_channels``.
        query_generator (dict): :class:`MultiQueryGenerator` config (N_q is its
            ``num_queries``). Defaults to ``dict(type='MultiQueryGenerator')``.
        num_layers (int): Pixel-to-word decoder layers (0: none). Defaults to 3.
        query_decoder_layers (int): Query-to-pixel layers before the kernels are made
            (0: kernels from the generated queries, as MMNet). Defaults to 1.
        num_heads (int): Attention heads. Defaults to 8.
        feedforward_channels (int): FFN width. Defaults to 2048.
        dropout (float): Decoder dropout. Defaults to 0.1.
        aligner (dict, optional): Further :class:`VisionLanguageAligner` options:
            ``multi_mask`` (False: one mask from the score-weighted queries, MMNet's
            "w/o MMP"), ``use_estimator`` (False: plain sum of the masks, "w/o MQE"),
            ``kernel_size``, ``kernel_act_cfg``. Defaults to None (MMNet's full model).
        loss_decode (dict | Sequence[dict]): Loss config(s). Defaults to mmseg's
            ``CrossEntropyLoss(use_sigmoid=True)``.
        norm_cfg (dict): Norm config of the projector convs. Defaults to BN.
        ignore_index (int): Label ignored by the loss. Defaults to 255.
        threshold (float): Sigmoid threshold of the ``iou_seg`` log. Defaults to 0.35.
        loss_resolution (str): As :class:`CRISHead`. Defaults to ``'logits'``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 512,
                 channels: int = 256,
                 text_dims: Optional[int] = None,
                 query_generator: dict = dict(type='MultiQueryGenerator'),
                 num_layers: int = 3,
                 query_decoder_layers: int = 1,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.1,
                 aligner: Optional[dict] = None,
                 loss_decode: Union[dict, Sequence[dict]] = dict(
                     type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 norm_cfg: dict = dict(type='BN'),
                 ignore_index: int = 255,
                 threshold: float = 0.35,
                 loss_resolution: str = 'logits',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(in_channels, channels, num_classes=1, out_channels=1,
                         threshold=threshold, dropout_ratio=0, norm_cfg=norm_cfg,
                         loss_decode=loss_decode, ignore_index=ignore_index, init_cfg=init_cfg)
        del self.conv_seg  # the aligner classifies
        self.loss_resolution = check_loss_resolution(loss_resolution)
        self.decoder = VLDecoder(num_layers, in_channels, num_heads, feedforward_channels,
                                 dropout, text_dims) if num_layers > 0 else None
        self.query_generator = MODELS.build(query_generator)
        query_dim = self.query_generator.embed_dims
        self.query_decoder = nn.ModuleList([
            VLDecoderLayer(query_dim, num_heads, feedforward_channels, dropout, in_channels)
            for _ in range(query_decoder_layers)
        ])
        self.query_norm = nn.LayerNorm(query_dim) if query_decoder_layers else nn.Identity()
        self.aligner = VisionLanguageAligner(
            in_channels, channels, query_dim, num_heads=num_heads, norm_cfg=norm_cfg,
            **(aligner or {}))

    def forward(self, x: Union[Tensor, Tuple[Tensor, ...]], text: TextFeatures) -> Tensor:
        """
        Args:
            x (Tensor | tuple[Tensor]): Neck output, B, C, h, w (e.g. B, 512, 26, 26), or
                ``(fused, *encoder maps, global vector)``.
            text (TextFeatures): words B, L, D; mask B, L.

        Returns:
            Tensor: B, 1, 4h, 4w logits (e.g. B, 1, 104, 104).
        """
        queries = self.query_generator(x, text.words, text.mask)  # B, Nq, Cq
        x = unpack_neck_outputs(x)[0]  # B, C, h, w
        if self.decoder is not None:
            x = self.decoder(x, text.words, text.mask)  # B, C, h, w
        if len(self.query_decoder):
            B, C, H, W = x.shape
            pixels = x.flatten(2).transpose(1, 2)  # B, hw, C
            pixel_pos = sine_pos_2d(C, H, W, x.device).to(x.dtype)  # hw, C
            query_pos = sine_pos_1d(queries.shape[-1], queries.shape[1],
                                    x.device).to(x.dtype)  # Nq, Cq
            for layer in self.query_decoder:
                queries = layer(queries, pixels, query_pos, pixel_pos)  # B, Nq, Cq
        return self.aligner(x, self.query_norm(queries))  # B, 1, 4h, 4w

    # Same logits contract as CRIS: its loss, training log and predict.
    loss = CRISHead.loss
    loss_by_feat = CRISHead.loss_by_feat
    predict = CRISHead.predict
