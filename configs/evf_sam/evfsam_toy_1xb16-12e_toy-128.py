# Tiny EVF-SAM (configs/_base_/models/evfsam_toy.py, random init) on the toy data, on CPU:
#   python tools/run_toy.py --config configs/evf_sam/evfsam_toy_1xb16-12e_toy-128.py
# The toy recipe of the other tiny models (AdamW 1e-3, warm-up, cosine, clipping) over 12
# epochs; the random BEiT-3 is frozen (the model base's `frozen=True`): trained from scratch
# in this budget its own updates blur the sentence it hands the decoder
# (docs/models/evf_sam.md "Toy").
_base_ = [
    '../_base_/models/evfsam_toy.py', '../_base_/datasets/toy_refer.py',
    '../_base_/schedules/schedule_toy_8e.py', '../_base_/default_runtime.py'
]
# the refs of one image next to each other, as the full configs (LISA's sampling)
train_dataloader = dict(
    sampler=_base_.train_sampler,
    dataset=dict(pipeline=_base_.sam_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.sam_test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.sam_test_pipeline))
train_cfg = dict(max_epochs=12, val_interval=12)
default_hooks = dict(checkpoint=dict(interval=12))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
