# Tiny EVF-SAM (configs/_base_/models/evfsam_toy.py, random init) on the toy data, on CPU:
#   python tools/run_toy.py --config configs/evf_sam/evfsam_toy_1xb16-8e_toy-128.py
# The toy recipe of the other tiny models (AdamW 1e-3, warm-up, cosine, clipping), BEiT-3 at
# a tenth of the lr: at the full lr its own updates stall the sentence path from scratch
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
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'text_encoder.beit3': dict(lr_mult=0.1)}))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
