# LAVT (CVPR 2022), Swin-B + BERT-base, RefCOCO (UNC). Paper oIoU: val 72.73,
# testA 75.82, testB 68.79. Test split: testA (--cfg-options test_dataloader.dataset.split=testB).
_base_ = ['../_base_/models/lavt_swin-b.py', './_base_/lavt_refcoco-480_40e.py']
