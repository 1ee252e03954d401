# Tiny DETRIS (small widths, random init, nothing frozen: a from-scratch stand-in cannot be
# frozen) on the embedded toy data, for CPU, with the toy recipe of tiny CRIS (AdamW 1e-3,
# cosine, batch 16, loss at the input resolution). Generate the data with
#   python tools/dataset_converters/generate_toy_data.py --out data/toy
# and run `python tools/run_toy.py --config configs/detris/detris_toy_1xb16-10e_toy-128.py`.
_base_ = [
    '../_base_/models/detris_toy.py', '../_base_/datasets/toy_refer.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_toy_10e.py'
]
model = dict(decode_head=dict(loss_resolution='input'))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
