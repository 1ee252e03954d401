# Tiny MMNet (small widths, random init) on the embedded toy data, for CPU: the toy recipe of
# tiny CRIS (AdamW 1e-3, cosine, 8 epochs, batch 16, loss at the input resolution).
# Generate the data with
#   python tools/dataset_converters/generate_toy_data.py --out data/toy
_base_ = [
    '../_base_/models/mmnet_tiny.py', '../_base_/datasets/toy_refer.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_toy_8e.py'
]
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
model = dict(decode_head=dict(loss_resolution='input'))
