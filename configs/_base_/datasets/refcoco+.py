# RefCOCO+ (UNC splits: train, val, testA, testB). Same protocol as refcoco.py.
#   data/refcoco+/instances.json, data/refcoco+/refs(unc).p, data/coco/train2014/*.jpg
_base_ = ['./refcoco.py']
refer_plus_files = dict(ann_file='refcoco+/instances.json', split_file='refcoco+/refs(unc).p')
train_dataloader = dict(dataset=refer_plus_files)
val_dataloader = dict(dataset=refer_plus_files)
test_dataloader = dict(dataset=refer_plus_files)  # testA; testB with dataset.split=testB
