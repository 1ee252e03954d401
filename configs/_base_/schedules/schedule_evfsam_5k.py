# EVF-SAM's training recipe. The authors trained with LISA's train_ds.py ("we use the same
# codebase", EVF-SAM#52; "almost the same training settings" for SAM-2, #22), whose defaults
# are: AdamW lr 3e-4, betas (0.9, 0.95), no weight decay; DeepSpeed's WarmupDecayLR: linear
# warm-up from 0 over 100 steps, then linear decay to 0 at 10 epochs x 500 steps = 5,000
# steps; gradient clipping 1.0; bf16; 160 images per step (8 GPUs x 2 x 10 accumulated).
# Here: 8 GPUs x 20 samples (one sentence each) = 160 per step, no accumulation [chosen].
# Iteration-based: leaf configs set log_processor = dict(by_epoch=False) (default_runtime.py
# holds it). bf16 autocast (AmpOptimWrapper); on a machine without a GPU use
#   --cfg-options optim_wrapper.type=OptimWrapper
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.95), weight_decay=0.),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False, begin=100,
         end=5000)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=5000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# Scale the lr when the total batch differs from 160 (`tools/train.py --auto-scale-lr`).
auto_scale_lr = dict(enable=False, base_batch_size=160)
