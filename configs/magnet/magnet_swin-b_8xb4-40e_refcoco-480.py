# MagNet (CVPR 2024), Swin-B + BERT-base, RefCOCO (UNC), LAVT's data protocol and schedule
# [chosen: the paper's schedule is not in our sources]. Paper oIoU: val 75.24, testA 78.24,
# testB 71.05. Test split: testA (--cfg-options test_dataloader.dataset.split=testB).
_base_ = ['../_base_/models/magnet_swin-b.py', '../lavt/_base_/lavt_refcoco-480_40e.py']
