# EAVL (Yan et al., "EAVL: Explicitly Align Vision and Language for Referring Image
# Segmentation") with CLIP RN50. Only the abstract and figure captions are public, so this is
# our build (docs/models/mmnet_eavl.md): CRIS's encoders, neck and pixel-to-word decoder
# (cris_r50.py), MMNet's Multi-Query Generator (un-gated FPN over the encoder maps + the
# attention pool's global vector, N_q = num_queries), one query-to-pixel decoder layer, then
# the Vision-Language Aligner (a dynamic 3x3 kernel + bias per query -> one mask per query,
# multi-query estimator scores, score-weighted sum).
_base_ = './cris_r50.py'
num_queries = 24  # not published for EAVL: MMNet's best
levels = [512, 1024, 1024]  # RN50 stride 8 / 16 / 32 channels
norm_cfg = dict(type='BN')
model = dict(
    backbone=dict(out_global=True),  # + the attention pool's global vector (B x 1024)
    neck=dict(return_inputs=True),
    decode_head=dict(
        _delete_=True,
        type='EAVLHead',
        in_channels=512,
        channels=256,
        text_dims=512,
        query_generator=dict(
            type='MultiQueryGenerator',
            num_queries=num_queries,
            in_channels=512,
            embed_dims=512,
            text_dims=512,
            global_dim=1024,
            grid_size=(26, 26),  # 416 / 16
            visual_neck=dict(
                type='SentenceGatedFPN', gate=False, in_channels=levels,
                out_channels=[256, 512, 1024], norm_cfg=norm_cfg),
            norm_cfg=norm_cfg),
        num_layers=3,
        query_decoder_layers=1,
        num_heads=8,
        feedforward_channels=2048,
        dropout=0.1,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
