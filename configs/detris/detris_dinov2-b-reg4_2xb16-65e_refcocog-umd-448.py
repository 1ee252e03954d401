# DETRIS-B on RefCOCOg (UMD splits): 2 GPUs x 16 images, 65 epochs (Adam 1e-4, x0.1 at 35 and 55),
# 22-token sentences, letterboxed 448 input. Test: the umd test split.
_base_ = [
    '../_base_/models/detris_dinov2-b-reg4.py', '../_base_/datasets/refcocog_umd.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_detris_65e.py'
]
# 448 pipelines (the dataset base letterboxes to 416)
train_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.train_pipeline_448}}))
val_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.test_pipeline_448}}))
test_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.test_pipeline_448}}))
# G-Ref sentences: 22 tokens (DETRIS's refcocog_u configs)
model = dict(text_encoder=dict(word_len=22))
