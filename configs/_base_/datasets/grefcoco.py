# gRefCOCO (generalized: a sentence may refer to several objects or to none), UNC splits
# (train, val, testA, testB). Protocol of refcoco.py; ReferMetric adds N-acc and T-acc.
#   data/grefcoco/instances.json, data/grefcoco/grefs(unc).json, data/coco/train2014/*.jpg
_base_ = ['./refcoco.py']
grefcoco_files = dict(type='GReferDataset', ann_file='grefcoco/instances.json',
                      split_file='grefcoco/grefs(unc).json')
train_dataloader = dict(dataset=grefcoco_files)
val_dataloader = dict(dataset=grefcoco_files)
test_dataloader = dict(dataset=grefcoco_files)  # testA; testB with dataset.split=testB
