# RefCOCOg, Google splits (train, val only: the test loader scores val). Protocol of refcoco.py.
#   data/refcocog/instances.json, data/refcocog/refs(google).p, data/coco/train2014/*.jpg
_base_ = ['./refcoco.py']
refcocog_google_files = dict(ann_file='refcocog/instances.json',
                             split_file='refcocog/refs(google).p')
train_dataloader = dict(dataset=refcocog_google_files)
val_dataloader = dict(dataset=refcocog_google_files)
test_dataloader = dict(dataset=dict(**refcocog_google_files, split='val'))
