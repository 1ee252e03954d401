# Tiny CRIS with the Mask Grounding auxiliary head (CLIP BPE vocabulary) on the toy data,
# on CPU; the head reads the neck's 128 x 16 x 16 map.
_base_ = ['./cris_tiny_1xb16-10e_toy-128.py', '../_base_/models/magnet_mask-grounding_tiny.py']
model = dict(auxiliary_head=dict(in_channels=128, **_base_.mask_grounding_tiny))
