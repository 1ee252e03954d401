"""MMNet head: multi-query generator, decoder over the queries, multi-mask aligner."""
from typing import Optional, Sequence, Tuple, Union

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmris.registry import MODELS
from ..layers import VisionLanguageAligner, VLDecoder
from ..layers.multi_query import unpack_neck_outputs
from ..utils.text_features import TextFeatures
from .cris_head import CRISHead, check_loss_resolution


@MODELS.register_module()
class MMNetHead(BaseDecodeHead):
    """MMNet (eq. 6-16): queries from words and pixels, pixels attend to the queries, one
    dynamic-kernel mask per query, masks summed with the estimator's scores.

    Input: the fusion neck's ``(F_vt, *encoder maps, global vector)`` (``SentenceGatedFPN``
    with ``return_inputs=True`` over an encoder with ``out_global=True``), or F_vt alone
    when the query generator works on it (no ``visual_neck``, no global vector). Output:
    B x 1 x 4h x 4w logits; loss, training log and predict as :class:`CRISHead`.

    Args:
        in_channels (int): Width C of F_vt (decoder width). Defaults to 512.
        channels (int): Channels C_p the dynamic kernels act on. Defaults to 256.
        query_generator (dict): :class:`MultiQueryGenerator` config; its ``num_queries`` is
            N_q. Defaults to ``dict(type='MultiQueryGenerator')``.
        num_layers (int): Decoder layers. Defaults to 3.
        num_heads (int): Decoder and estimator heads. Defaults to 8.
        feedforward_channels (int): Decoder FFN width. Defaults to 2048.
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
                 query_generator: dict = dict(type='MultiQueryGenerator'),
                 num_layers: int = 3,
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
        self.query_generator = MODELS.build(query_generator)
        query_dim = self.query_generator.embed_dims
        self.decoder = VLDecoder(num_layers, in_channels, num_heads, feedforward_channels,
                                 dropout, text_dims=query_dim)
        self.aligner = VisionLanguageAligner(
            in_channels, channels, query_dim, num_heads=num_heads, norm_cfg=norm_cfg,
            **(aligner or {}))

    def forward(self, x: Union[Tensor, Tuple[Tensor, ...]], text: TextFeatures) -> Tensor:
        """
        Args:
            x (Tensor | tuple[Tensor]): F_vt (B, C, h, w, e.g. B, 512, 30, 30), or
                ``(F_vt, F_v2, F_v3, F_v4, F_vg)``.
            text (TextFeatures): words B, L, D; mask B, L.

        Returns:
            Tensor: B, 1, 4h, 4w logits (e.g. B, 1, 120, 120).
        """
        queries = self.query_generator(x, text.words, text.mask)  # B, Nq, C  eq. 6-10
        x = unpack_neck_outputs(x)[0]  # B, C, h, w  F_vt
        x = self.decoder(x, queries)  # B, C, h, w  eq. 11-13
        return self.aligner(x, queries)  # B, 1, 4h, 4w  eq. 14-16

    # Same logits contract as CRIS: its loss, training log and predict.
    loss = CRISHead.loss
    loss_by_feat = CRISHead.loss_by_feat
    predict = CRISHead.predict
