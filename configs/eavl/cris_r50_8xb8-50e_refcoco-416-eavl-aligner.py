# Plug-and-play: CRIS (CLIP R50) on RefCOCO with its projector replaced by EAVL's
# Vision-Language Aligner (EAVLHead keeps CRIS's 3-layer decoder; N_q = 24 queries from the
# neck output and the words, no global vector, so CRIS's encoders and neck are unchanged).
# CRIS's schedule: 8 GPUs x 8 images, 50 epochs, letterboxed 416 input.
_base_ = [
    '../_base_/models/cris_r50.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cris_50e.py'
]
model = dict(
    decode_head=dict(
        _delete_=True,
        type='EAVLHead',
        in_channels=512,
        channels=256,
        text_dims=512,
        query_generator=dict(
            type='MultiQueryGenerator', num_queries=24, in_channels=512, embed_dims=512,
            text_dims=512, global_dim=None, grid_size=(26, 26)),
        num_layers=3,
        query_decoder_layers=1,
        num_heads=8,
        feedforward_channels=2048,
        dropout=0.1))
train_dataloader = dict(batch_size=8)
val_dataloader = dict(batch_size=8)
test_dataloader = dict(batch_size=8)
