# EAVL (CLIP R101) on RefCOCO (UNC splits): 8 GPUs x 8 images, CRIS's schedule (50 epochs, Adam
# 1e-4, CLIP towers x0.1, lr x0.1 at 35; EAVL publishes none), letterboxed 416 input, scored at
# the original image size.
_base_ = [
    '../_base_/models/eavl_r101.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cris_50e.py'
]
train_dataloader = dict(batch_size=8)
val_dataloader = dict(batch_size=8)
test_dataloader = dict(batch_size=8)
