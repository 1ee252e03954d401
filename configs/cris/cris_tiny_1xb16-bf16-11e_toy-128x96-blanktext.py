# The README's toy job with every sentence blanked (the model sees '' instead of the
# expression): the ablation showing that cris_tiny_1xb16-bf16-11e_toy-128x96 uses the words.
# `BlankSentence` runs after `CleanSentence`, in training and in evaluation.
_base_ = ['./cris_tiny_1xb16-bf16-11e_toy-128x96.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='LetterboxResize', scale={{_base_.img_scale}}, pad_val={{_base_.img_pad_val}}),
    dict(type='ReferRandomFlip', prob=0.5),
    dict(type='CleanSentence'),
    dict(type='BlankSentence'),
    dict(type='PackReferInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LetterboxResize', scale={{_base_.img_scale}}, pad_val={{_base_.img_pad_val}}),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='BlankSentence'),
    dict(type='PackReferInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
