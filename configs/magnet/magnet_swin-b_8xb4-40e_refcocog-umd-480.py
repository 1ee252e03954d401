# MagNet, G-Ref (RefCOCOg, UMD splits). Paper oIoU: val 65.36, test 66.03.
_base_ = ['./magnet_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(umd).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=dict(**files, split='test'))
