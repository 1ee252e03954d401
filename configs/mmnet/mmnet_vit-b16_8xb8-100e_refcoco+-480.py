# MMNet (CLIP ViT-B/16) on RefCOCO+ (UNC splits): 8 GPUs x 8 images,
# 100 epochs (Adam 1e-5, poly decay), letterboxed 480 input, scored at the original image size.
_base_ = [
    '../_base_/models/mmnet_vit-b16.py', '../_base_/datasets/refcoco+.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_mmnet_100e.py'
]
# 480 pipelines (the dataset base letterboxes to 416)
train_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.train_pipeline_480}}))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.test_pipeline_480}}))
test_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.test_pipeline_480}}))
