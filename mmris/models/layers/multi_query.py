"""Multi-query blocks of MMNet / EAVL: query generator, estimator and the aligner."""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from .attention import MultiheadAttention
from .dynamic_projector import DynamicProjector


def unpack_neck_outputs(
        x: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor, Tuple[Tensor, ...], Optional[Tensor]]:
    """Split a neck output into the fused map, the encoder's maps and its global vector.

    Args:
        x (Tensor | Sequence[Tensor]): B x C x h x w, or ``(fused, *maps[, global])`` as
            given by ``SentenceGatedFPN(return_inputs=True)``; a 2-D last entry (B x D) is the
            global vector.

    Returns:
        tuple: fused (B, C, h, w), maps (tuple, maybe empty), global (B, D) or None.
    """
    if isinstance(x, Tensor):
        return x, (), None
    fused, *rest = x
    glob = rest.pop() if rest and rest[-1].dim() == 2 else None
    return fused, tuple(rest), glob


@MODELS.register_module()
class MultiQueryGenerator(BaseModule):
    """MMNet's Multi-Query Generator (eq. 6-10): N_q queries from words and pixels.

    Input: a neck output, B x C x h x w or ``(fused, *encoder maps[, global vector])`` (see
    :func:`unpack_neck_outputs`). Dense visual map F'_v: made from the encoder's maps by
    ``visual_neck`` (eq. 6, an un-gated FPN), or the fused map itself (``visual_neck=None``,
    e.g. dropped into CRIS, where it is the neck output).

    - Eq. 7: two 3x3 conv-BN-ReLU and a 1x1 conv make N_q maps, flattened: f_vd (B, N_q, hw).
    - Eq. 8: F_tv = relu(F_t W_t) * relu(F_vg W_vg) (``global_dim=None``: F_tv = F_t).
    - Eq. 9: a = relu(f_vd W_vd) relu(F_tv W_a)^T, softmax over the words (padding masked).
    - Eq. 10: queries F_q = A relu(F_tv W_tv).

    W_vd maps the flattened h*w grid, so it is made for one grid (``grid_size``, the input
    size / 16); other grids are average-pooled to it.

    Args:
        num_queries (int): N_q. Defaults to 24 (MMNet's best).
        in_channels (int): Channels of the dense visual map. Defaults to 512.
        embed_dims (int): Query width C. Defaults to 512.
        text_dims (int): Word width. Defaults to 512.
        global_dim (int, optional): Width of the global visual vector; None: not used.
            Defaults to 512.
        grid_size (Sequence[int]): (h, w) of the dense map for W_vd. Defaults to (30, 30)
            (a 480 input).
        visual_neck (dict, optional): Module config making F'_v from the encoder's maps,
            called as ``neck(maps)``. Defaults to None (the input is F'_v).
        norm_cfg (dict): Norm config of the convs. Defaults to BN.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 num_queries: int = 24,
                 in_channels: int = 512,
                 embed_dims: int = 512,
                 text_dims: int = 512,
                 global_dim: Optional[int] = 512,
                 grid_size: Sequence[int] = (30, 30),
                 visual_neck: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.num_queries = num_queries
        self.embed_dims = embed_dims
        self.grid_size = tuple(grid_size)
        self.visual_neck = MODELS.build(visual_neck) if visual_neck else None
        c = in_channels
        self.query_maps = nn.Sequential(
            ConvModule(c, c, 3, padding=1, norm_cfg=norm_cfg),
            ConvModule(c, c, 3, padding=1, norm_cfg=norm_cfg), nn.Conv2d(c, num_queries, 1))
        self.use_global = global_dim is not None
        if self.use_global:
            self.word_proj = nn.Linear(text_dims, embed_dims)  # W_t
            self.global_proj = nn.Linear(global_dim, embed_dims)  # W_vg
            text_dims = embed_dims
        self.pixel_attn_proj = nn.Linear(self.grid_size[0] * self.grid_size[1],
                                         embed_dims)  # W_vd
        self.word_attn_proj = nn.Linear(text_dims, embed_dims)  # W_a
        self.word_value_proj = nn.Linear(text_dims, embed_dims)  # W_tv

    def forward(self,
                x: Union[Tensor, Sequence[Tensor]],
                words: Tensor,
                word_mask: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            x (Tensor | Sequence[Tensor]): Neck output: B, C, h, w, or
                ``(fused, *maps[, global])`` (maps needed with ``visual_neck``, the global
                vector B x global_dim with ``global_dim``).
            words (Tensor): B, L, text_dims word features F_t.
            word_mask (Tensor, optional): B, L bool, True = padding.

        Returns:
            Tensor: B, N_q, embed_dims queries F_q.
        """
        visual, maps, global_feat = unpack_neck_outputs(x)
        if self.visual_neck is not None:
            visual = self.visual_neck(maps)  # B, C, h, w  eq. 6
        qmaps = self.query_maps(visual)  # B, Nq, h, w
        if qmaps.shape[-2:] != self.grid_size:
            qmaps = F.adaptive_avg_pool2d(qmaps, self.grid_size)
        if self.use_global:  # eq. 8
            assert global_feat is not None, 'the neck output carries no global vector'
            glob = F.relu(self.global_proj(global_feat))[:, None]  # B, 1, C
            words = F.relu(self.word_proj(words)) * glob  # B, L, C
        pix = F.relu(self.pixel_attn_proj(qmaps.flatten(2)))  # B, Nq, C
        attn = pix @ F.relu(self.word_attn_proj(words)).transpose(1, 2)  # B, Nq, L  eq. 9
        if word_mask is not None:
            attn = attn.masked_fill(word_mask[:, None], float('-inf'))
        return attn.softmax(-1) @ F.relu(self.word_value_proj(words))  # B, Nq, C  eq. 10


@MODELS.register_module()
class MultiQueryEstimator(BaseModule):
    """Multi-Query Estimator (MMNet eq. 15): softmax(Linear(MHSA(F_q))) over the queries.

    Args:
        embed_dims (int): Query width. Defaults to 512.
        num_heads (int): Attention heads. Defaults to 8.
        dropout (float): Attention dropout. Defaults to 0.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int = 512,
                 num_heads: int = 8,
                 dropout: float = 0.,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.attn = MultiheadAttention(embed_dims, num_heads, dropout)
        self.score = nn.Linear(embed_dims, 1)

    def forward(self, queries: Tensor) -> Tensor:
        """B, N, C queries -> B, N scores summing to 1 over N."""
        return self.score(self.attn(queries))[..., 0].softmax(-1)  # B, N


@MODELS.register_module()
class VisionLanguageAligner(BaseModule):
    """Multi-mask projector + multi-query estimator + score-weighted sum (MMNet eq. 14-16).

    The Vision-Language Aligner of EAVL: each query becomes a dynamic kernel and bias over
    the upsampled pixels (one mask per query, :class:`DynamicProjector`), the estimator
    scores the queries, and the masks are summed with the scores. The kernel values go
    through ``kernel_act_cfg`` (eq. 14's relu): were they linear in the query, the
    score-weighted sum of the masks would equal the mask of the score-weighted query, and
    the multi-mask projector would change nothing. Ablations of MMNet:
    ``multi_mask=False``: one mask from the score-weighted sum of the queries (no multi-mask
    projector); ``use_estimator=False``: the plain sum of the masks.

    Args:
        in_channels (int): Pixel channels in. Defaults to 512.
        channels (int): Pixel channels the kernels act on (C_p). Defaults to 256.
        query_dim (int): Query width. Defaults to 512.
        kernel_size (int): Dynamic kernel size. Defaults to 3.
        num_heads (int): Estimator heads. Defaults to 8.
        multi_mask (bool): One mask per query. Defaults to True.
        use_estimator (bool): Weight by the estimator's scores. Defaults to True.
        kernel_act_cfg (dict, optional): Activation on the kernel values. Defaults to ReLU.
        norm_cfg (dict): Norm config of the projector convs. Defaults to BN.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 512,
                 channels: int = 256,
                 query_dim: int = 512,
                 kernel_size: int = 3,
                 num_heads: int = 8,
                 multi_mask: bool = True,
                 use_estimator: bool = True,
                 kernel_act_cfg: Optional[dict] = dict(type='ReLU'),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        assert multi_mask or use_estimator, 'a single mask needs the estimator scores'
        self.multi_mask = multi_mask
        self.projector = DynamicProjector(in_channels, channels, query_dim, kernel_size,
                                          norm_cfg=norm_cfg, kernel_act_cfg=kernel_act_cfg)
        self.estimator = MultiQueryEstimator(query_dim, num_heads) if use_estimator else None

    def forward(self, x: Tensor, queries: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): B, C, h, w pixels (e.g. B, 512, 30, 30).
            queries (Tensor): B, N, query_dim.

        Returns:
            Tensor: B, 1, 4h, 4w mask logits.
        """
        if self.estimator is None:
            return self.projector(x, queries).sum(1, keepdim=True)  # B, 1, 4h, 4w
        scores = self.estimator(queries)  # B, N
        if not self.multi_mask:
            return self.projector(x, (scores[..., None] * queries).sum(1))  # B, 1, 4h, 4w
        masks = self.projector(x, queries)  # B, N, 4h, 4w
        return (scores[:, :, None, None] * masks).sum(1, keepdim=True)  # eq. 16
