# CoupAlign, RefCOCO+ (UNC). Paper oIoU: val 62.92, testA 68.34, testB 56.69.
_base_ = ['./coupalign_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refcoco+/instances.json', split_file='refcoco+/refs(unc).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=files)
