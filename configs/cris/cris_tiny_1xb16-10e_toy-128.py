# Tiny CRIS (small widths, random init) on the embedded toy data, for CPU: the README's main
# job (`bash tools/run_toy.sh`). Generate the data with
#   python tools/dataset_converters/generate_toy_data.py --out data/toy
_base_ = [
    '../_base_/models/cris_tiny.py', '../_base_/datasets/toy_refer.py',
    '../_base_/default_runtime.py'
]
max_epochs = 10
# The loss at the input resolution: the stride-4 nearest-resized target is too blocky for
# the toy's small objects (see CRISHead).
model = dict(decode_head=dict(loss_resolution='input'))
# From scratch, so no x0.1 on the towers and a larger lr than CRIS's fine-tuning; PyTorch's
# fused AdamW (about 15 ms less per iteration on 2 CPU cores than the for-loop one).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4, fused=True),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=max_epochs),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
# the lr above is for one process of 16 images (`tools/train.py --auto-scale-lr`)
auto_scale_lr = dict(enable=False, base_batch_size=16)
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
