# Tiny LAVT (4-stage Swin of width 32, tiny CLIP text tower, random init) on the toy data,
# on CPU. Learning proof: see docs in configs/coupalign/coupalign_toy_1xb16-8e_toy-128.py.
_base_ = ['../_base_/models/lavt_toy.py', './_base_/lavt_toy-128.py']
