# CRIS with CLIP RN101: the authors' config/refcoco/cris_r101.yaml (fpn_in [512, 1024, 512],
# word_dim 512; the rest as RN50). 161.22 M parameters (authors: 161.25 M, see cris_r50.py).
_base_ = './cris_r50.py'
pretrained = 'checkpoints/clip/RN101.pt'
model = dict(
    backbone=dict(arch='RN101', pretrained=pretrained),
    text_encoder=dict(arch='RN101', pretrained=pretrained),
    neck=dict(in_channels=[512, 1024, 512], sentence_dim=512),
    decode_head=dict(sentence_dim=512))
