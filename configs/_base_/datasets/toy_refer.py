# The toy referring dataset (mmris.datasets.toy; generate it with
#   python tools/dataset_converters/generate_toy_data.py --out data/toy).
# Letterbox to `img_scale` (the images are about 128 x 96, so it pads), padded with CLIP's
# mean in BGR. To change `img_scale` or `img_pad_val` in a derived config, set them and
# re-declare `train_pipeline` / `test_pipeline` and the dataloaders' `dataset.pipeline`
# (mmengine does not re-evaluate a base config's dicts when a variable is overridden).
dataset_type = 'ReferDataset'
data_root = 'data/toy'
img_scale = (128, 128)  # (width, height)
img_pad_val = (104.09, 116.75, 122.77)  # CLIP mean * 255, BGR
toy_files = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='toyref/instances.json',
    split_file='toyref/refs(unc).p',
    data_prefix=dict(img_path='images/'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=img_pad_val),
    dict(type='ReferRandomFlip', prob=0.5),  # swaps "left" / "right" in the sentence
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
# The annotation is loaded after the resize: the target stays at the original size and the
# metric scores there (the model undoes the letterbox).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=img_pad_val),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]

loader = dict(batch_size=16, num_workers=2, persistent_workers=True)
train_dataloader = dict(
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**toy_files, split='train', text_mode='random', pipeline=train_pipeline))
val_dataloader = dict(
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**toy_files, split='val', text_mode='all', pipeline=test_pipeline))
# testA: attribute expressions; testB: spatial expressions. Switch with
#   --cfg-options test_dataloader.dataset.split=testB
test_dataloader = dict(
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**toy_files, split='testA', text_mode='all', pipeline=test_pipeline))
val_evaluator = dict(type='ReferMetric', resolution='original')
test_evaluator = val_evaluator
