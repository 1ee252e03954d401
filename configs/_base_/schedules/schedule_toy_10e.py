# The toy recipe of schedule_toy_8e.py at 10 epochs (2,500 iterations at batch 16), for the
# tiny models whose iterations are fast enough to fit them in the 10-minute CPU budget
# (tiny EAVL: about 0.21 s per iteration on 2 cores).
_base_ = './schedule_toy_8e.py'
max_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
