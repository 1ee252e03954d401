# gRefCOCO (generalized: a sentence may refer to several objects or to none), UNC splits
# (train, val, testA, testB: the 2023-08-29 release; the first one has train and val only).
# Pipeline of refcoco.py; scores as ReLA's evaluator (gres_model/evaluation/
# refer_evaluation.py): cIoU, gIoU, N-acc, T-acc and Pr@0.7/0.8/0.9 (IoU >= X) over the
# sentences with a target, next to oIoU / mIoU.
#   data/grefcoco/instances.json, data/grefcoco/grefs(unc).json, data/coco/train2014/*.jpg
_base_ = ['./refcoco.py']
grefcoco_files = dict(type='GReferDataset', ann_file='grefcoco/instances.json',
                      split_file='grefcoco/grefs(unc).json')
train_dataloader = dict(dataset=grefcoco_files)
val_dataloader = dict(dataset=grefcoco_files)
test_dataloader = dict(dataset=grefcoco_files)  # testA; testB with dataset.split=testB
val_evaluator = dict(type='ReferMetric', resolution='original', prec_comparison='>=',
                     iou_thrs=(0.7, 0.8, 0.9))
test_evaluator = val_evaluator
