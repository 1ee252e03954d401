# A tiny CoupAlign (lavt_toy.py's Swin and CLIP text tower) for tests and the toy dataset:
# WPA at every stage, 8 queries, 3 query-decoder layers of width 64; sentence = the tiny
# CLIP tower's EOT projection (64).
_base_ = ['./lavt_toy.py']
model = dict(
    backbone=dict(
        # WPA as in coupalign_swin-b.py (LAVT's attention, the fused maps to the decoder);
        # from scratch there are no pretrained features to protect: the gate starts open
        # (LAVT's init), so the WPA blocks get gradients from the first step
        fusion=dict(_delete_=True, type='WordPixelAlignment', num_heads=(1, 2, 4, 8),
                    dropout=0.0, zero_init_gate=False)),
    decode_head=dict(
        _delete_=True,
        type='CoupAlignHead',
        in_channels=[32, 64, 128, 256],
        channels=64,
        sentence_dims=64,
        embed_dims=64,
        num_queries=8,
        num_layers=3,
        num_heads=4,
        feedforward_channels=256,
        deep_supervision=True,
        loss_contrastive=dict(type='PixelContrastiveLoss', tau=0.1, loss_weight=0.5,
                              max_pixels=256),
        norm_cfg={{_base_.norm_cfg}}))
