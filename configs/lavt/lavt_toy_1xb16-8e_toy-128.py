# Tiny LAVT (4-stage Swin of width 32, tiny CLIP text tower, random init) on the toy data,
# on CPU. Learning proof (val oIoU >= 70 within 10 minutes on 2 cores): configs/lavt/README.md.
_base_ = ['../_base_/models/lavt_toy.py', './_base_/lavt_toy-128.py']
