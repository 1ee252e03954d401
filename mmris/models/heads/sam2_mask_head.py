"""SAM-2's prompt encoder and mask decoder (``sam2``) prompted by a sentence vector
(EVF-SAM2)."""
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..backbones.sam_image_encoder import load_sam_state
from ..utils.text_features import TextFeatures
from .sam_mask_head import bce_dice_losses, best_mask, freeze, text_prompt


@MODELS.register_module()
class SAM2MaskHead(BaseModule):
    """SAM-2's ``PromptEncoder`` + ``MaskDecoder`` (high-resolution features, object-score
    token) on the three maps of :class:`SAM2ImageEncoder`, prompted by the sentence vector
    appended to the sparse prompt. EVF-SAM2 asks for SAM-2's three masks and keeps the one
    of highest predicted IoU (``multimask_output``), and keeps SAM-2 frozen (``frozen``):
    only the fusion encoder and its projection train. Returns B, 1, 256, 256 logits for a
    1024 input.

    Args:
        embed_dims (int): Defaults to 256.
        image_embedding_size (int): Side of the coarsest map. Defaults to 64.
        input_size (int): Defaults to 1024.
        multimask_output (bool): Defaults to True (EVF-SAM2).
        frozen (bool): Defaults to True (EVF-SAM2).
        bce_weight (float): Defaults to 2.0.
        dice_weight (float): Defaults to 0.5.
        pretrained (str, optional): Local SAM-2 checkpoint; its ``sam_prompt_encoder.*``
            and ``sam_mask_decoder.*`` load strictly in :meth:`init_weights`.
        init_cfg (dict, optional): Initialization config.
    """

    align_corners = False

    def __init__(self,
                 embed_dims: int = 256,
                 image_embedding_size: int = 64,
                 input_size: int = 1024,
                 multimask_output: bool = True,
                 frozen: bool = True,
                 bce_weight: float = 2.0,
                 dice_weight: float = 0.5,
                 pretrained: Optional[str] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        from sam2.modeling.sam.mask_decoder import MaskDecoder
        from sam2.modeling.sam.prompt_encoder import PromptEncoder
        from sam2.modeling.sam.transformer import TwoWayTransformer
        self.prompt_encoder = PromptEncoder(
            embed_dim=embed_dims, image_embedding_size=(image_embedding_size,) * 2,
            input_image_size=(input_size,) * 2, mask_in_chans=16)
        # SAM2Base._build_sam_heads with sam2_hiera_l.yaml's flags
        self.mask_decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=embed_dims, mlp_dim=2048,
                                          num_heads=8),
            transformer_dim=embed_dims, iou_head_depth=3, iou_head_hidden_dim=256,
            use_high_res_features=True, iou_prediction_use_sigmoid=True,
            pred_obj_scores=True, pred_obj_scores_mlp=True,
            use_multimask_token_for_obj_ptr=True)
        self.multimask_output = multimask_output
        self.weights = (bce_weight, dice_weight)
        self.pretrained = pretrained
        freeze(self, frozen, ('mask_decoder.iou_prediction_head',
                              'mask_decoder.pred_obj_score_head'))

    def init_weights(self) -> None:
        if self.pretrained:
            for name in ('prompt_encoder', 'mask_decoder'):
                getattr(self, name).load_state_dict(
                    load_sam_state(self.pretrained, f'sam_{name}.'))
            print_log(f'SAM2MaskHead: weights from {self.pretrained}', logger='current')

    def forward(self, x: Sequence[Tensor], text: TextFeatures) -> Tensor:
        """[B, C, 4h, 4w; B, C, 2h, 2w; B, C, h, w] + B, C sentences -> B, 1, 4h, 4w."""
        s0 = self.mask_decoder.conv_s0(x[0])  # B, C / 8, 4h, 4w
        s1 = self.mask_decoder.conv_s1(x[1])  # B, C / 4, 2h, 2w
        sparse, dense, pe = text_prompt(self.prompt_encoder, text.sentence)
        masks, iou, _, _ = self.mask_decoder(
            image_embeddings=x[2], image_pe=pe, sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense, multimask_output=self.multimask_output,
            repeat_image=False, high_res_features=[s0, s1])  # B, K, 4h, 4w; B, K
        return best_mask(masks, iou) if self.multimask_output else masks

    def loss(self, x: Sequence[Tensor], text: TextFeatures, batch_data_samples: List,
             train_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
        """``loss_bce`` and ``loss_dice`` on the mask at each target's size."""
        return bce_dice_losses(self.forward(x, text), batch_data_samples, *self.weights)

    def predict(self, x: Sequence[Tensor], text: TextFeatures, *args, **kwargs) -> Tensor:
        return self.forward(x, text)


__all__ = ['SAM2MaskHead']
