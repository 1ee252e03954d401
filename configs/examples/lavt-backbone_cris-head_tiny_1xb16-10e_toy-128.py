# Mix and match (docs/config_guide.md): LAVT's language-aware Swin backbone (a pixel-word
# attention + gate after every stage) under CRIS's sentence-gated FPN neck and CRIS's head
# (decoder + text-to-pixel projector), tiny widths, random init, on the toy data.
#
# Start from the whole tiny CRIS (model, data, 10-epoch schedule, runtime) and replace its
# image encoder by the tiny LAVT one (the toy Swin, configs/_base_/models/swin_tiny_toy.py,
# with LAVT's pixel-word attention). Two things must agree:
#   * the backbone's output levels and widths with the neck's `in_channels`: CRIS's neck takes
#     3 levels (strides 8, 16, 32), so the Swin keeps stages 1-3 (`out_indices`), of widths
#     64, 128, 256 for `embed_dims=32`;
#   * the backbone's `text_dims` with the text encoder's word width (64 for cris_tiny's CLIP
#     text tower), since the fusion blocks attend to the words.
# Train it:  python tools/train.py configs/examples/lavt-backbone_cris-head_tiny_1xb16-10e_toy-128.py
_base_ = ['../cris/cris_tiny_1xb16-10e_toy-128.py', '../_base_/models/swin_tiny_toy.py']
model = dict(
    backbone=dict(
        _delete_=True,  # drop every key of CRIS's CLIP ResNet, keep none
        **_base_.swin_tiny_toy,  # type SwinFusion; text_dims 64 = cris_tiny's word width
        out_indices=(1, 2, 3),  # strides 8, 16, 32
        fusion=dict(type='PWAMFusion', num_heads=4, dropout=0.0)),
    neck=dict(in_channels=[64, 128, 256]))  # = the backbone's widths at out_indices
