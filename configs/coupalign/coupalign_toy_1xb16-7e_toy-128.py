# Tiny CoupAlign (4-stage Swin of width 32 with WPA, tiny CLIP text tower, 8 queries,
# random init) on the toy data, on CPU. 7 epochs of the toy recipe: an iteration costs about
# 1.15x the tiny LAVT's (query decoder, deep supervision, pixel contrastive loss), so 8 do
# not fit in the 10-minute CPU budget (configs/coupalign/README.md).
_base_ = ['../_base_/models/coupalign_toy.py', '../lavt/_base_/lavt_toy-128.py']
train_cfg = dict(max_epochs=7, val_interval=7)  # the cosine follows (schedule_toy_8e.py)
default_hooks = dict(checkpoint=dict(interval=7))
