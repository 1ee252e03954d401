# Tiny MagNet (4-stage Swin of width 32 with CAMs, tiny BERT over the toy vocabulary
# interleaved with the stages, MagNetHead of width 64, Mask Grounding head; random init) on
# the toy data, on CPU, under LAVT's toy protocol. Needs data/toy/bert-tiny, written with the
# data (tools/dataset_converters/generate_toy_data.py --out data/toy [--bert-only]).
_base_ = ['../_base_/models/magnet_toy.py', '../lavt/_base_/lavt_toy-128.py']
