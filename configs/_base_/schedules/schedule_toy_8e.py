# The toy recipe of configs/cris/cris_tiny_1xb16-10e_toy-128.py as a base for the other tiny
# models, at 8 epochs (2,000 iterations at batch 16: the 10-minute CPU budget of the heavier
# MMNet / EAVL heads): from scratch (no CLIP weights), so AdamW 1e-3 (fused) on everything,
# 100-iteration warm-up, cosine, gradient clipping; one validation and one checkpoint at the
# end. Hooks as CRIS's schedule. Leaf configs add the model, the toy dataset and the runtime.
_base_ = './schedule_cris_50e.py'
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4, fused=True),
    clip_grad=dict(max_norm=1.0))
# the cosine has no `end`: the runner ends it at train_cfg.max_epochs, so a leaf config
# changes the length with `train_cfg = dict(max_epochs=N, val_interval=N)` alone (the last
# epoch's checkpoint is saved whatever the interval: CheckpointHook(save_last=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min=1e-5)
]
train_cfg = dict(max_epochs=8, val_interval=8)
default_hooks = dict(checkpoint=dict(interval=8, max_keep_ckpts=1))
randomness = dict(seed=0)
# the toy recipe's lr is for one process of 16 images (`tools/train.py --auto-scale-lr`)
auto_scale_lr = dict(enable=False, base_batch_size=16)
