# RefCOCO (UNC splits) read from the REFER files, CRIS protocol: letterbox to `img_scale`
# padded with CLIP's mean (CRIS's cv2.warpAffine, bicubic: `LetterboxResize(backend='cris')`),
# scored at the original image size with Prec@X counting IoU > X as CRIS's test does (the
# CRIS-family models undo the letterbox as CRIS: `test_cfg.undo_resize='cris'`).
# Layout: docs/dataset_prepare.md.
#   data/refcoco/instances.json, data/refcoco/refs(unc).p, data/coco/train2014/*.jpg
# refcoco+.py, refcocog_umd.py, refcocog_google.py and grefcoco.py inherit this file and change
# the files and splits. To change `img_scale` / `img_pad_val` in a derived config, set them and
# re-declare `train_pipeline` / `test_pipeline` and the dataloaders' `dataset.pipeline`
# (mmengine does not re-evaluate a base config's dicts when a variable is overridden).
dataset_type = 'ReferDataset'
data_root = 'data/'
ann_file = 'refcoco/instances.json'
split_file = 'refcoco/refs(unc).p'
img_prefix = 'coco/train2014/'
img_scale = (416, 416)  # (width, height)
img_pad_val = (104.09, 116.75, 122.77)  # CLIP mean * 255, BGR (images load BGR)
test_split = 'testA'  # the other: testB (--cfg-options test_dataloader.dataset.split=testB)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=img_pad_val, backend='cris'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
# Annotation after the resize: the target stays at the original size (CRIS protocol).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LetterboxResize', scale=img_scale, pad_val=img_pad_val, backend='cris'),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
refer_files = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=ann_file,
    split_file=split_file,
    data_prefix=dict(img_path=img_prefix))

loader = dict(batch_size=16, num_workers=4, persistent_workers=True)
train_dataloader = dict(
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**refer_files, split='train', text_mode='random', pipeline=train_pipeline))
val_dataloader = dict(
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**refer_files, split='val', text_mode='all', pipeline=test_pipeline))
test_dataloader = dict(
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**refer_files, split=test_split, text_mode='all', pipeline=test_pipeline))
val_evaluator = dict(type='ReferMetric', resolution='original', prec_comparison='>')
test_evaluator = val_evaluator
