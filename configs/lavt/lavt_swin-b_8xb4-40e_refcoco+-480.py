# LAVT, RefCOCO+ (UNC). Paper oIoU: val 62.14, testA 68.38, testB 55.10.
_base_ = ['./lavt_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refcoco+/instances.json', split_file='refcoco+/refs(unc).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=files)
