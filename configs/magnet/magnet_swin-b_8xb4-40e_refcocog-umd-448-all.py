# MagNet's `magnet_all.pth` tested on G-Ref (UMD splits) at 448 x 448 (see
# magnet_swin-b_8xb4-40e_refcoco-448-all.py).
_base_ = ['./magnet_swin-b_8xb4-40e_refcoco-480.py']
img_scale = (448, 448)
pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='LoadReferAnnotation'),
    dict(type='RISResize', scale=img_scale, backend='pillow'),
    dict(type='CleanSentence', unicode_form=None),
    dict(type='PackReferInputs'),
]
files = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(umd).p')
train_dataloader = dict(dataset=dict(**files, pipeline=pipeline))
val_dataloader = dict(dataset=dict(**files, pipeline=pipeline))
test_dataloader = dict(dataset=dict(**files, split='test', pipeline=pipeline))
model = dict(data_preprocessor=dict(size=img_scale))
