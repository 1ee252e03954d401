# Plug-and-play: tiny CRIS on the toy data with its projector replaced by EAVL's
# Vision-Language Aligner (EAVLHead keeps CRIS's decoder; the query generator works on the
# neck output, no global vector: CRIS's encoders and neck are unchanged). Toy recipe of tiny
# CRIS (AdamW 1e-3, cosine, 10 epochs, batch 16, loss at the input resolution).
_base_ = [
    '../_base_/models/cris_tiny.py', '../_base_/datasets/toy_refer.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_toy_10e.py'
]
model = dict(
    decode_head=dict(
        _delete_=True,
        type='EAVLHead',
        in_channels=128,
        channels=64,
        text_dims=64,
        query_generator=dict(
            type='MultiQueryGenerator', num_queries=24, in_channels=128, embed_dims=128,
            text_dims=64, global_dim=None, grid_size=(8, 8)),
        num_layers=1,
        query_decoder_layers=1,
        num_heads=4,
        feedforward_channels=256,
        dropout=0.0,
        loss_resolution='input'))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
