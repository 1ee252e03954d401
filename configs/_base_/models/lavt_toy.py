# A tiny LAVT for tests and the toy dataset (lavt_swin-b.py made small): a 4-stage Swin of
# width 32, the tiny CLIP text tower of cris_tiny.py (64 wide; its BPE vocabulary ships with
# open_clip, so no BERT directory is needed), random init, 128 x 128 input.
# The tiny Swin (sine positions, window 8, conv stem, fitted windows): swin_tiny_toy.py.
# 4 PWAM heads (the official code's `--mha 4-4-4-4`; LAVT's default 1), no drop path.
_base_ = ['./lavt_swin-b.py', './swin_tiny_toy.py']
input_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=input_size),
    # stage maps: 32 x 32 x 32, 64 x 16 x 16, 128 x 8 x 8, 256 x 4 x 4
    backbone=dict(**_base_.swin_tiny_toy, fusion=dict(num_heads=4)),
    text_encoder=dict(
        _delete_=True,
        type='CLIPTextEncoder',
        arch=dict(width=64, heads=4, layers=2, output_dim=64),
        word_len=17,
        pretrained=None),
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=64))
