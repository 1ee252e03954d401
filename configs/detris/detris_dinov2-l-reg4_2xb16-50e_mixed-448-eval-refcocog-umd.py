# DETRIS-L* (trained on the mixed set, detris_dinov2-l-reg4_2xb16-50e_mixed-448.py) evaluated
# on RefCOCOg (UMD splits): val, and test as the test split. 17-token sentences, as trained.
_base_ = ['./detris_dinov2-l-reg4_2xb16-50e_mixed-448.py']
refcocog_umd = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(umd).p')
val_dataloader = dict(dataset=refcocog_umd)
test_dataloader = dict(dataset=dict(**refcocog_umd, split='test'))
