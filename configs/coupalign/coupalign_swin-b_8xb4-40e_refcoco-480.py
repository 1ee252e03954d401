# CoupAlign (NeurIPS 2022), Swin-B + BERT-base, RefCOCO (UNC). Paper oIoU: val 74.70,
# testA 77.76, testB 70.58. The training recipe is not published where we can read it:
# LAVT's (CoupAlign builds on LAVT) [chosen]. N, tau and loss weights: see
# configs/_base_/models/coupalign_swin-b.py.
_base_ = ['../_base_/models/coupalign_swin-b.py', '../lavt/_base_/lavt_refcoco-480_40e.py']
