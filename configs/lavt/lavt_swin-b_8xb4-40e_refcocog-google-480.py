# LAVT, G-Ref (RefCOCOg, Google splits: train and val; the test loader scores val), 20 BERT
# tokens as for RefCOCO. Paper oIoU: val 60.50 (mIoU 63.66).
_base_ = ['./lavt_swin-b_8xb4-40e_refcoco-480.py']
files = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(google).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=dict(**files, split='val'))
