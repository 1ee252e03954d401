# A tiny MMNet for tests and the toy dataset: cris_tiny.py's towers (ResNet, so the global
# feature is the attention pool's token) and widths, MMNet's head (mmnet_vit-b16.py), random
# init and a 128 x 128 input (8 x 8 grid at stride 16).
_base_ = './cris_tiny.py'
num_queries = 24
levels = [128, 256, 128]
model = dict(
    backbone=dict(out_global=True),  # + B x 128 global vector
    neck=dict(return_inputs=True),
    decode_head=dict(
        _delete_=True,
        type='MMNetHead',
        in_channels=128,
        channels=64,
        query_generator=dict(
            type='MultiQueryGenerator',
            num_queries=num_queries,
            in_channels=128,
            embed_dims=128,
            text_dims=64,
            global_dim=128,
            grid_size=(8, 8),
            visual_neck=dict(
                type='SentenceGatedFPN', gate=False, in_channels=levels,
                out_channels=[64, 128, 128])),
        num_layers=1,
        num_heads=4,
        feedforward_channels=256,
        dropout=0.0))
