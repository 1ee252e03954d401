# Tiny LAVT with the Mask Grounding auxiliary head (CLIP BPE vocabulary) on the toy data,
# on CPU; the head reads the last fused Swin map (256 x 4 x 4).
_base_ = [
    '../_base_/models/lavt_toy.py', './_base_/lavt_toy-128.py',
    '../_base_/models/magnet_mask-grounding_tiny.py'
]
# Mask Grounding's loss at weight 0.1 [chosen for the toy]: at 1, its cross-entropy over
# CLIP's 49,408 BPE words makes the gradient norm 5-15x the mask loss's, and the toy
# recipe's clipping at norm 1 shrinks the mask loss's steps as much (val oIoU 59.94 at
# weight 1, 72.74 at 0.1; docs/models/magnet.md).
model = dict(auxiliary_head=dict(in_channels=256, **_base_.mask_grounding_tiny, loss_weight=0.1))
