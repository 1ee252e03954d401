# DETRIS (AAAI 2025; config/*/DETRIS_large.yaml): Adam 1e-4, no weight decay, no gradient
# clipping, lr x0.1 at epoch 35 of 50, batch 32 (2 GPUs x 16 in run_scripts/train.sh). Only
# the adapters, the neck and the head have gradients: the frozen towers' parameters have
# requires_grad=False, and the optimizer skips parameters without a gradient.
# The authors train under fp16 autocast; on a GPU use `tools/train.py CONFIG --amp`
# (fp16, dynamic loss scale) or add `--cfg-options optim_wrapper.dtype=bfloat16` for bf16.
optimizer = dict(type='Adam', lr=1e-4, weight_decay=0.)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=50, milestones=[35], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3,
                    save_best='mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# Scale the lr when the total batch differs from 32 (`tools/train.py --auto-scale-lr`).
auto_scale_lr = dict(enable=False, base_batch_size=32)
