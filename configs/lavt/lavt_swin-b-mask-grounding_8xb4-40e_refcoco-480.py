# LAVT Swin-B + BERT-base on RefCOCO with Mask Grounding (MagNet, CVPR 2024) as an auxiliary
# head: masked word prediction over the BERT vocabulary from the last fused Swin map
# (1024 x 15 x 15), the masked words (BERT, 768 wide) and the target mask's centre.
_base_ = ['../_base_/models/lavt_swin-b.py', './_base_/lavt_refcoco-480_40e.py']
model = dict(
    auxiliary_head=dict(type='MaskGroundingHead', in_channels=1024, text_dims=768))
