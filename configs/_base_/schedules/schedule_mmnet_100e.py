# MMNet: Adam lr 1e-5 for the whole model (the paper gives one learning rate, so no x0.1 on
# the CLIP towers, unlike CRIS), polynomial decay (power 0.9, to 0, per iteration: our
# choice where the paper only says "polynomial"), 100 epochs, batch 64 (8 GPUs x 8 images).
# Hooks, loops and checkpointing as CRIS's schedule.
_base_ = './schedule_cris_50e.py'
max_epochs = 100
optimizer = dict(type='Adam', lr=1e-5, weight_decay=0.)
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0., by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
