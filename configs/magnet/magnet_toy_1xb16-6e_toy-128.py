# Tiny MagNet (4-stage Swin of width 32 with CAMs, tiny BERT over the toy vocabulary
# interleaved with the stages, MagNetHead of width 64, Mask Grounding head; random init) on
# the toy data, on CPU, under LAVT's toy protocol. Needs data/toy/bert-tiny, written with the
# data (tools/dataset_converters/generate_toy_data.py --out data/toy [--bert-only]).
# 6 epochs of the toy recipe: an iteration costs about 1.3x the tiny LAVT's (CAMs, the
# deformable pixel decoder, L_CAL, the Mask Grounding head), so 8 do not fit in the
# 10-minute CPU budget (configs/magnet/README.md).
_base_ = ['../_base_/models/magnet_toy.py', '../lavt/_base_/lavt_toy-128.py']
train_cfg = dict(max_epochs=6, val_interval=6)  # the cosine follows (schedule_toy_8e.py)
default_hooks = dict(checkpoint=dict(interval=6))
