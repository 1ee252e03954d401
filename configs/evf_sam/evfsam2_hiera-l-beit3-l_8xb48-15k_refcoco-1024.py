# EVF-SAM2 (SAM-2 Hiera-L + BEiT-3-L) trained on RefCOCO (UNC): val, testA (test_dataloader), testB.
# The recipe: configs/_base_/schedules/schedule_evfsam_15k.py; the model, its two image views
# and the weights it starts from: configs/_base_/models/evfsam2_hiera-l-beit3-l.py.
_base_ = [
    '../_base_/models/evfsam2_hiera-l-beit3-l.py', '../_base_/datasets/refcoco.py',
    '../_base_/schedules/schedule_evfsam_15k.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(
    batch_size=48,
    sampler=_base_.train_sampler,
    dataset=dict(pipeline=_base_.sam_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.sam_test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.sam_test_pipeline))
log_processor = dict(by_epoch=False)
