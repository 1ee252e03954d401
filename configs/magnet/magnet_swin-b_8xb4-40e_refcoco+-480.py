# MagNet, RefCOCO+ (UNC). Paper oIoU: val 66.16, testA 71.32, testB 58.14.
_base_ = ['./magnet_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refcoco+/instances.json', split_file='refcoco+/refs(unc).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=files)
