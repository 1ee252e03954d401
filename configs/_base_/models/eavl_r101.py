# EAVL with CLIP RN101: eavl_r50.py with the RN101 towers (levels 512 / 1024 / 512, sentence
# and global vectors 512 wide), as cris_r101.py does for CRIS.
_base_ = './eavl_r50.py'
pretrained = 'checkpoints/clip/RN101.pt'
levels = [512, 1024, 512]
model = dict(
    backbone=dict(arch='RN101', pretrained=pretrained),
    text_encoder=dict(arch='RN101', pretrained=pretrained),
    neck=dict(in_channels=levels, sentence_dim=512),
    decode_head=dict(
        query_generator=dict(global_dim=512, visual_neck=dict(in_channels=levels))))
