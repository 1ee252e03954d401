# CRIS R50 on RefCOCO with Mask Grounding (MagNet, CVPR 2024) as an auxiliary head: masked
# word prediction over the CLIP BPE vocabulary from the neck's map (512 x 26 x 26, pooled to
# 16 x 16), the masked words (CLIP text, 512 wide) and the target mask's centre.
_base_ = ['./cris_r50_8xb8-50e_refcoco-416.py']
model = dict(
    auxiliary_head=dict(type='MaskGroundingHead', in_channels=512, text_dims=512))
