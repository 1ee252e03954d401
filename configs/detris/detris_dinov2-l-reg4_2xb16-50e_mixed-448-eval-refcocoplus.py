# DETRIS-L* (trained on the mixed set, detris_dinov2-l-reg4_2xb16-50e_mixed-448.py) evaluated
# on RefCOCO+: val, and testA as the test split (testB with
# --cfg-options test_dataloader.dataset.split=testB).
_base_ = ['./detris_dinov2-l-reg4_2xb16-50e_mixed-448.py']
refcoco_plus = dict(ann_file='refcoco+/instances.json', split_file='refcoco+/refs(unc).p')
val_dataloader = dict(dataset=refcoco_plus)
test_dataloader = dict(dataset=refcoco_plus)
