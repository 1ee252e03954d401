# Tiny EAVL (small widths, random init) on the embedded toy data, for CPU: the tiny MMNet
# (mmnet_tiny.py: cris_tiny.py's towers, MMNet's query generator with the attention pool's
# global vector) with EAVL's head: CRIS's pixel-to-word decoder, one query-to-pixel layer,
# then the Vision-Language Aligner (eavl_r50.py at toy size). The toy recipe of tiny CRIS
# (AdamW 1e-3, cosine, 10 epochs, batch 16, loss at the input resolution). Generate the
# data with
#   python tools/dataset_converters/generate_toy_data.py --out data/toy
_base_ = [
    '../_base_/models/mmnet_tiny.py', '../_base_/datasets/toy_refer.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_toy_10e.py'
]
model = dict(
    decode_head=dict(
        type='EAVLHead', text_dims=64, query_decoder_layers=1, loss_resolution='input'))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
