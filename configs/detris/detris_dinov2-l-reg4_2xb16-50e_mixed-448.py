# DETRIS-L* (config/refcoco/DETRIS_large_mixed.yaml): DETRIS-L with wider and denser adapters
# (image: width 384 at blocks 1-23; text: width 384 at blocks 1-11), trained on the
# concatenated RefCOCO + RefCOCO+ + RefCOCOg-umd train splits (126,908 objects; tools/mix.py
# of the authors), 17-token sentences, 2 GPUs x 16 images, 50 epochs. Validated on RefCOCO
# val, tested on RefCOCO testA (testB with --cfg-options test_dataloader.dataset.split=testB).
# Every other split is evaluated on its own by the `-eval-*` configs that inherit this one
# (mmengine's loops take one dataloader each):
#   python tools/test.py configs/detris/detris_dinov2-l-reg4_2xb16-50e_mixed-448-eval-refcocoplus.py CKPT
#   python tools/test.py configs/detris/detris_dinov2-l-reg4_2xb16-50e_mixed-448-eval-refcocog-umd.py CKPT
# Note: RefCOCOg-umd's val/test images also appear in RefCOCO's train split (all are COCO
# train2014), so the mixed model has seen those images (not their G-Ref sentences).
_base_ = [
    '../_base_/models/detris_dinov2-l-reg4.py', '../_base_/datasets/refcoco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_detris_50e.py'
]
model = dict(
    backbone=dict(adapter_layers=tuple(range(1, 24)), adapter_dims=384),
    text_encoder=dict(adapter_layers=tuple(range(1, 12)), adapter_dims=384))
train_split = dict(type='ReferDataset', data_root='data/', data_prefix=dict(img_path='coco/train2014/'),
                   split='train', text_mode='random', pipeline={{_base_.train_pipeline_448}})
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(**train_split, ann_file='refcoco/instances.json', split_file='refcoco/refs(unc).p'),
            dict(**train_split, ann_file='refcoco+/instances.json',
                 split_file='refcoco+/refs(unc).p'),
            dict(**train_split, ann_file='refcocog/instances.json',
                 split_file='refcocog/refs(umd).p'),
        ]))
val_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.test_pipeline_448}}))
test_dataloader = dict(batch_size=16, dataset=dict(pipeline={{_base_.test_pipeline_448}}))
