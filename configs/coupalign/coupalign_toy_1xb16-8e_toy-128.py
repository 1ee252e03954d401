# Tiny CoupAlign (4-stage Swin of width 32 with WPA, tiny CLIP text tower, 8 queries,
# random init) on the toy data, on CPU.
_base_ = ['../_base_/models/coupalign_toy.py', '../lavt/_base_/lavt_toy-128.py']
