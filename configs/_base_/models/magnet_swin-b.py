# MagNet (CVPR 2024): Swin-B (window 12) + BERT-base in 4 stages of 3 layers, a Cross-modal
# Alignment Module after each stage (pixel-to-word PWAM at full resolution and on pooled
# grids 1/2/3/6, word-to-pixel update of the text stream, zero-init tanh gates), a
# deformable pixel decoder and a single-query Mask2Former decoder; 480 input, 20 tokens.
# As the official graph (yxchng/mask-grounding): LayerNorms in the image-side PWAMs, stage
# outputs without Swin's norm{i}, DETR's normalised sine positions, no class score at
# inference (softmax over the single query), logits upsampled with align_corners=True.
_base_ = ['./lavt_swin-b.py']
model = dict(
    backbone=dict(
        fusion=dict(_delete_=True, type='CrossModalAlignment', num_heads=1, pwam_norm='layer'),
        text_stages=(3, 6, 9, 12),
        out_norms=False),
    text_encoder=dict(run_layers=False),
    decode_head=dict(
        _delete_=True,
        type='MagNetHead',
        in_channels=[128, 256, 512, 1024],
        sentence_dims=768,
        num_layers=9,
        normalize_pos=True,
        use_class_score=False,
        align_corners=True,
        # [chosen] mask losses at the ground truth's resolution (Mask2Former's point loss
        # samples full-resolution targets; the official training code is not released)
        loss_resolution='input',
        loss_cal=dict(type='CrossModalAlignmentLoss', tau=0.1, p2p_weight=0.5,
                      p2t_weight=0.5)),
    auxiliary_head=dict(type='MaskGroundingHead', in_channels=1024, text_dims=768),
    test_cfg=dict(threshold=0.5, output_size='input'))
