# EVF-SAM's training recipe, as its paper states it (arXiv 2406.20076v5, sec. 4.2): AdamW,
# initial lr 1e-4 with linear decay, 15k iterations, 128 samples per iteration (4 GPUs x 16 x 2
# accumulated), mixed precision, SAM's image encoder frozen (the model configs). Here 8 GPUs
# without accumulation (see below); on 4 GPUs add
#   --cfg-options optim_wrapper.accumulative_counts=2
# Where the paper is silent, the defaults of LISA's train_ds.py, the code base the authors
# trained with (EVF-SAM#52, #22) [chosen]: betas (0.9, 0.95), no weight decay, 100 warm-up steps
# (DeepSpeed's WarmupDecayLR), gradient clipping 1.0, bf16.
# The paper's 128 are LISA samples: one image with 3 of its sentences (LISA's
# `num_classes_per_sample`, EVF-SAM's forward runs SAM's image encoder once per image). mmris
# samples are sentences: 8 GPUs x 48 sentences = 384 per step, drawn by ImageGroupedSampler in
# runs of up to 3 refs of one image (`train_sampler` of the model configs, set by the leaf
# configs), and the segmentor's `dedup_images` runs SAM's encoder once per run. [chosen: 384
# sentences on about 160 images per step, against the paper's 384 on 128; LISA draws images
# uniformly, the sampler goes through every ref once per epoch]
# Iteration-based: leaf configs set log_processor = dict(by_epoch=False) (default_runtime.py
# holds it). bf16 autocast (AmpOptimWrapper); on a machine without a GPU use
#   --cfg-options optim_wrapper.type=OptimWrapper
max_iters = 15000
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95), weight_decay=0.),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False, begin=100,
         end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# Scale the lr when the total batch differs from 384 sentences (`tools/train.py
# --auto-scale-lr`).
auto_scale_lr = dict(enable=False, base_batch_size=384)
