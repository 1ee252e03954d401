# DETRIS-L (Huang et al., AAAI 2025; jiaqihuang01/DETRIS config/refcoco/DETRIS_large.yaml):
# frozen DINOv2 ViT-L/14 with 4 registers (timm's ViT) at 448 and the frozen CLIP ViT-B/16
# text tower, both with DETRIS's dense adapters (image: width 128 at blocks 2, 6, ..., 22,
# attending to the words; text: width 64 at blocks 1, 3, ..., 11; outputs x0.2 next to the
# MLPs); the image levels after blocks 8 and 16 and the final normalised tokens (32 x 32)
# go to DETRIS's neck, then CRIS's decoder (3 layers, FFN 512) and projector; BCE on the
# stride-3.5 (128 x 128) logits. Trained: adapters, neck, decoder, projector (the
# `frozen=True` towers have requires_grad=False). See docs/models/detris.md.
# Weights: local files, never downloaded; loaded by init_weights (the files need not exist
# to build the model).
dinov2_pretrained = 'checkpoints/dinov2/dinov2_vitl14_reg4_pretrain.pth'
clip_pretrained = 'checkpoints/clip/ViT-B-16.pt'
word_len = 17  # 22 for RefCOCOg-umd (the authors keep 17 for RefCOCOg-google)
input_size = (448, 448)
norm_cfg = dict(type='BN')  # the authors convert the whole model to SyncBN
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[122.7709383, 116.7460125, 104.09373615],  # CLIP mean * 255, RGB (as DETRIS)
    std=[68.5005327, 66.6321579, 70.32316305],  # CLIP std * 255, RGB
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=input_size)
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='DINOv2Adapter',
        arch='vit-l',
        img_size=input_size[0],
        out_indices=(8, 16),  # output_dinov2
        adapter_layers=(2, 6, 10, 14, 18, 22),  # visual_adapter_layer
        adapter_dims=128,  # visual_adapter_dim
        text_dims=512,
        frozen=True,
        pretrained=dinov2_pretrained),
    text_encoder=dict(
        type='CLIPTextEncoder',
        arch='ViT-B-16',
        word_len=word_len,
        adapter_layers=(1, 3, 5, 7, 9, 11),  # txtual_adapter_layer
        adapter_dims=64,  # txt_adapter_dim
        frozen=True,
        pretrained=clip_pretrained),
    neck=dict(
        type='GatedAggregationNeck',
        in_channels=[1024, 1024, 1024],  # fpn_in
        channels=512,
        sentence_dim=512,
        strides=(1, 1, 1),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='CRISHead',
        in_channels=512,  # vis_dim
        channels=256,
        sentence_dim=512,  # word_dim
        text_dims=512,
        num_layers=3,
        num_heads=8,
        feedforward_channels=512,  # dim_ffn
        dropout=0.1,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(threshold=0.35, output_size='original'))

# The dataset bases letterbox to 416: DETRIS's 448 pipelines, for the leaf configs to put in
# their dataloaders (`{{_base_.train_pipeline_448}}`).
pad_val = (104.09, 116.75, 122.77)  # CLIP mean * 255, BGR
train_pipeline_448 = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='LetterboxResize', scale=input_size, pad_val=pad_val),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
test_pipeline_448 = [  # annotation after the resize: scored at the original size
    dict(type='LoadImageFromFile'),
    dict(type='LetterboxResize', scale=input_size, pad_val=pad_val),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
