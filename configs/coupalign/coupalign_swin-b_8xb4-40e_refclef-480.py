# CoupAlign, ReferIt (RefCLEF, Berkeley splits). Paper oIoU: test 73.28.
_base_ = ['./coupalign_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refclef/instances.json', split_file='refclef/refs(berkeley).p',
             data_prefix=dict(img_path='images/saiapr_tc-12/'))
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=dict(**files, split='test'))
