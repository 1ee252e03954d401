# The toy data (configs/_base_/datasets/toy_refer.py) under LAVT's protocol (plain resize to
# 128 x 128, scored at the input size) and the from-scratch CPU schedule of the tiny models
# (schedule_toy_8e.py), for the tiny LAVT and CoupAlign. Generate the data with
#   python tools/dataset_converters/generate_toy_data.py --out data/toy
_base_ = [
    '../../_base_/datasets/toy_refer.py', '../../_base_/schedules/schedule_toy_8e.py',
    '../../_base_/default_runtime.py'
]
img_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='RISResize', scale=img_scale),
    dict(type='ReferRandomFlip', prob=0.5),  # swaps "left" / "right" in the sentence
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='RISResize', scale=img_scale),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = dict(type='ReferMetric', resolution='input')
test_evaluator = val_evaluator
# Swin from scratch: AdamW 5e-4 (2e-3 collapsed to all-background; 1e-3 did no better than
# 5e-4, see configs/lavt/README.md).
optim_wrapper = dict(optimizer=dict(lr=5e-4))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
