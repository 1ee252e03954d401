# LAVT, G-Ref (RefCOCOg, UMD splits), 20 BERT tokens as for RefCOCO. Paper oIoU: val 61.24,
# test 62.09.
_base_ = ['./lavt_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(umd).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=dict(**files, split='test'))
