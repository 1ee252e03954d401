# DETRIS-B on RefCOCO, RefCOCO+ and RefCOCOg-umd (config/*/DETRIS_base.yaml): the 50-epoch
# recipe for 65 epochs, lr x0.1 at epochs 35 and 55.
_base_ = './schedule_detris_50e.py'
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=65, milestones=[35, 55], gamma=0.1)
]
train_cfg = dict(max_epochs=65)
