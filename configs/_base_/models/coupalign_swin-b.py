# CoupAlign (NeurIPS 2022) on LAVT's Swin-B + BERT-base (lavt_swin-b.py): Word-Pixel
# Alignment at every stage, a Mask2Former-style mask generator giving N mask embeddings,
# Sentence-Mask Alignment with BERT's [CLS] feature, and the pixel contrastive loss.
# Not published where we can read them, chosen here [chosen] (docs in CoupAlignHead,
# PixelContrastiveLoss, WordPixelAlignment):
#   N = 16 mask embeddings: the target is one object (or a few), so a handful of proposals
#     suffices for SMA to pick and blend; Mask2Former's 100 is for whole-image panoptic.
#   tau = 0.1: the usual temperature of contrastive losses on L2-normalised embeddings.
#   loss weights: mask 1.0 on every decoder state (Mask2Former's deep supervision),
#     L_P2N 0.5 and L_N2P 0.5 (auxiliary, together as heavy as one mask loss).
#   WPA = LAVT's pixel-word attention (instance norms) + a tanh gate, the decoder getting the
#     fused maps as in LAVT (`attention='lavt'`, `out_fused=True`; from scratch on the toy
#     the textbook attention 'mha' and the gated sum as stage output learned far more
#     slowly, configs/coupalign/README.md); heads = Swin's (4, 8, 16, 32); the gate starts
#     closed, so the encoder stream starts as the pretrained Swin.
_base_ = ['./lavt_swin-b.py']
num_queries = 16
tau = 0.1
contrastive_weight = 0.5
model = dict(
    backbone=dict(
        fusion=dict(_delete_=True, type='WordPixelAlignment', num_heads=(4, 8, 16, 32),
                    dropout=0.0, zero_init_gate=True, attention='lavt', out_fused=True)),
    decode_head=dict(
        _delete_=True,
        type='CoupAlignHead',
        in_channels=[128, 256, 512, 1024],
        channels=512,
        sentence_dims=768,
        embed_dims=256,
        num_queries=num_queries,
        num_layers=6,
        num_heads=8,
        feedforward_channels=2048,
        dropout=0.0,
        deep_supervision=True,
        class_weight=(0.9, 1.1),
        loss_weight=1.0,
        loss_contrastive=dict(
            type='PixelContrastiveLoss', tau=tau, loss_weight=contrastive_weight,
            max_pixels=1024, normalize=True, log=False),
        norm_cfg={{_base_.norm_cfg}}))
