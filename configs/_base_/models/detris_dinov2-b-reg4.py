# DETRIS-B (config/refcoco/DETRIS_base.yaml): DETRIS-L's parts (detris_dinov2-l-reg4.py) on
# DINOv2 ViT-B/14 with 4 registers: image adapters (width 128) at blocks 1, 3, ..., 11,
# levels after blocks 4 and 8 and the final normalised tokens (768 channels).
_base_ = './detris_dinov2-l-reg4.py'
dinov2_pretrained = 'checkpoints/dinov2/dinov2_vitb14_reg4_pretrain.pth'
model = dict(
    backbone=dict(
        arch='vit-b', out_indices=(4, 8), adapter_layers=(1, 3, 5, 7, 9, 11),
        pretrained=dinov2_pretrained),
    neck=dict(in_channels=[768, 768, 768]))
