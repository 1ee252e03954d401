# MagNet's `magnet_all.pth` (trained on RefCOCO, RefCOCO+ and G-Ref together, released by the
# authors) tested on RefCOCO at 448 x 448, as the authors' run_test.sh does (IMG_SIZE=448).
# A test config: training on the combined data is not provided (the train loader is
# RefCOCO's). RefCOCO+ / G-Ref: magnet_swin-b_8xb4-40e_{refcoco+,refcocog-umd}-448-all.py.
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
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = dict(dataset=dict(pipeline=pipeline))
model = dict(data_preprocessor=dict(size=img_scale))
