# DETRIS-L on RefCOCO (UNC splits): 2 GPUs x 16 images, 50 epochs (Adam 1e-4, x0.1 at 35),
# letterboxed 448 input, scored at the original image size. Test: testA (testB with
# --cfg-options test_dataloader.dataset.split=testB).
_base_ = [
    '../_base_/models/detris_dinov2-l-reg4.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_detris_50e.py'
]
# 448 pipelines (the dataset base letterboxes to 416)
train_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.train_pipeline_448}}))
val_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.test_pipeline_448}}))
test_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.test_pipeline_448}}))
