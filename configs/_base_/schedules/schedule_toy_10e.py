# The toy recipe of schedule_toy_8e.py at 10 epochs (2,500 iterations at batch 16), for the
# tiny models whose iterations are fast enough to fit them in the 10-minute CPU budget
# (tiny EAVL: about 0.21 s per iteration on 2 cores).
_base_ = './schedule_toy_8e.py'
train_cfg = dict(max_epochs=10, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10))
