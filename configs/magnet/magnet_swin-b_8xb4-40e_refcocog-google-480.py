# MagNet, G-Ref (RefCOCOg, Google splits: train and val; the test loader scores val).
# Paper oIoU: val 63.13.
_base_ = ['./magnet_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(google).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=dict(**files, split='val'))
