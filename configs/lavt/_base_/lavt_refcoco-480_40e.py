# LAVT's data protocol and schedule (yz93/LAVT-RIS train.py / args.py), shared by the LAVT
# and CoupAlign configs; combine with a model from configs/_base_/models/.
# Data: plain resize to 480 x 480 (aspect not kept), no flip; the test pipeline loads the
# annotation before the resize, so the target is resized too and the score is taken at
# 480 x 480 (`ReferMetric(resolution='input')`, model `test_cfg.output_size='input'`).
# As the authors' loader (data/dataset_refer_bert.py, transforms.py): the sentence's 'raw'
# text (punctuation and case kept; BERT-uncased lower-cases it), the image decoded by Pillow
# without EXIF rotation and resized by Pillow (torchvision's F.resize on a PIL image:
# antialiased bilinear; the target nearest), so released weights see the same ids and pixels.
# Schedule: AdamW lr 5e-5, weight decay 1e-2 (none on norms, relative position tables,
# absolute position embeddings), poly decay (power 0.9) per iteration, 40 epochs,
# batch 32 = 8 GPUs x 4. LAVT optimises BERT's layers 0-9 only: its embeddings and layers
# 10-11 are not in the optimizer; lr_mult 0 reproduces that.
_base_ = ['../../_base_/datasets/refcoco.py', '../../_base_/default_runtime.py']
img_scale = (480, 480)
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='LoadReferAnnotation'),
    dict(type='RISResize', scale=img_scale, backend='pillow'),
    dict(type='CleanSentence', unicode_form=None),
    dict(type='PackReferInputs'),
]
test_pipeline = train_pipeline
lavt_data = dict(text_key='raw', pipeline=train_pipeline)
train_dataloader = dict(batch_size=4, num_workers=4, dataset=lavt_data)
val_dataloader = dict(batch_size=4, num_workers=4, dataset=lavt_data)
test_dataloader = dict(batch_size=4, num_workers=4, dataset=lavt_data)
val_evaluator = dict(type='ReferMetric', resolution='input')
test_evaluator = val_evaluator

max_epochs = 40
frozen = dict(lr_mult=0., decay_mult=0.)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=1e-2),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'relative_position_bias_table': dict(decay_mult=0.),
            'absolute_pos_embed': dict(decay_mult=0.),
            'text_encoder.bert.embeddings': frozen,
            'text_encoder.bert.encoder.layer.10.': frozen,
            'text_encoder.bert.encoder.layer.11.': frozen,
        }))
param_scheduler = [
    dict(type='PolyLR', eta_min=0., power=0.9, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2,
                    save_best='oIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# Scale the lr when the total batch differs from 32 (`tools/train.py --auto-scale-lr`).
auto_scale_lr = dict(enable=False, base_batch_size=32)
