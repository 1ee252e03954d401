# RefCOCOg, UMD splits (train, val, test): the split papers report. Protocol of refcoco.py.
#   data/refcocog/instances.json, data/refcocog/refs(umd).p, data/coco/train2014/*.jpg
_base_ = ['./refcoco.py']
refcocog_umd_files = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(umd).p')
train_dataloader = dict(dataset=refcocog_umd_files)
val_dataloader = dict(dataset=refcocog_umd_files)
test_dataloader = dict(dataset=dict(**refcocog_umd_files, split='test'))
