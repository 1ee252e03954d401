"""SAM-2's prompt encoder and mask decoder (``sam2``) prompted by a sentence vector
(EVF-SAM2)."""
from typing import Sequence

from torch import Tensor

from mmris.registry import MODELS
from ..utils.text_features import TextFeatures
from .sam_mask_head import SAMMaskHead, best_mask, text_prompt


@MODELS.register_module()
class SAM2MaskHead(SAMMaskHead):
    """SAM-2's ``PromptEncoder`` + ``MaskDecoder`` (high-resolution features, object-score
    token) on the three maps of :class:`SAM2ImageEncoder`, prompted by the sentence vector
    appended to the sparse prompt. EVF-SAM2 asks for SAM-2's three masks and keeps the one
    of highest predicted IoU (``multimask_output``), and keeps SAM-2 frozen (``frozen``):
    only the fusion encoder and its projection train. Returns B, 1, 256, 256 logits for a
    1024 input.

    :class:`SAMMaskHead` with ``sam2``'s classes (built as ``SAM2Base._build_sam_heads``
    with sam2_hiera_l.yaml's flags), its checkpoint prefix ``sam_`` and SAM-2's forward;
    the sizes, losses and freezing are the same, but the loss resizes the logits to the
    target in one step (the authors' ``postprocess_masks``; the input has no padding).

    Args:
        embed_dims (int): Defaults to 256.
        image_embedding_size (int): Side of the coarsest map. Defaults to 64.
        input_size (int): Defaults to 1024.
        depth (int): Two-way transformer layers. Defaults to 2.
        num_heads (int): Defaults to 8.
        mlp_dims (int): Defaults to 2048.
        iou_head_hidden_dims (int): Defaults to 256.
        multimask_output (bool): Defaults to True (EVF-SAM2).
        frozen (bool): Defaults to True (EVF-SAM2).
        bce_weight (float): Defaults to 1.0 (EVF-SAM's paper).
        dice_weight (float): Defaults to 1.0.
        pretrained (str, optional): Local SAM-2 checkpoint; its ``sam_prompt_encoder.*``
            and ``sam_mask_decoder.*`` load strictly in :meth:`init_weights`.
        init_cfg (dict, optional): Initialization config.
    """

    ckpt_prefix = 'sam_'
    direct_resize = True  # evf_sam2.py: postprocess_masks straight to the label's size
    no_grad = ('mask_decoder.iou_prediction_head', 'mask_decoder.pred_obj_score_head')
    decoder_flags = dict(use_high_res_features=True, iou_prediction_use_sigmoid=True,
                         pred_obj_scores=True, pred_obj_scores_mlp=True,
                         use_multimask_token_for_obj_ptr=True)

    def __init__(self, multimask_output: bool = True, frozen: bool = True,
                 **kwargs) -> None:
        # SAMMaskHead's arguments; EVF-SAM2's defaults for these two
        super().__init__(multimask_output=multimask_output, frozen=frozen, **kwargs)

    @staticmethod
    def library() -> tuple:
        from sam2.modeling.sam.mask_decoder import MaskDecoder
        from sam2.modeling.sam.prompt_encoder import PromptEncoder
        from sam2.modeling.sam.transformer import TwoWayTransformer
        return PromptEncoder, MaskDecoder, TwoWayTransformer

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


__all__ = ['SAM2MaskHead']
