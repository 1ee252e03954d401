# Tiny LAVT with the Mask Grounding auxiliary head (CLIP BPE vocabulary) on the toy data,
# on CPU; the head reads the last fused Swin map (256 x 4 x 4).
_base_ = [
    '../_base_/models/lavt_toy.py', './_base_/lavt_toy-128.py',
    '../_base_/models/magnet_mask-grounding_tiny.py'
]
model = dict(auxiliary_head=dict(in_channels=256, **_base_.mask_grounding_tiny))
