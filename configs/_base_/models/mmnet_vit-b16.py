# MMNet with CLIP ViT-B/16 (Yan et al., "MMNet: Multi-Mask Network for Referring Image
# Segmentation", eq. 1-16), on the CRIS parts: 480 input, width 512, 8 heads, FFN 2048.
# Image: the last block's patch tokens -> three convs -> strides 8 / 16 / 32 (512, 1024, 1024
# channels, our choice) + the class token as the global feature F_vg. Fusion neck (eq. 2-5):
# CRIS's sentence-gated FPN, also passing the encoder outputs to the head. Head: the
# Multi-Query Generator (eq. 6-10, its own un-gated FPN, N_q = num_queries), a 3-layer decoder
# over the queries (eq. 11-13), the multi-mask projector + estimator (eq. 14-16).
# Ablations (paper Tables 2-4): decode_head.query_generator.num_queries (N_q),
# decode_head.aligner.multi_mask=False (w/o MMP), decode_head.aligner.use_estimator=False
# (w/o MQE), decode_head.query_generator.global_dim=None (w/o F_vg).
# See docs/models/mmnet_eavl.md.
_base_ = './cris_r50.py'
pretrained = 'checkpoints/clip/ViT-B-16.pt'
word_len = 17  # 22 for G-Ref
input_size = (480, 480)
num_queries = 24  # the paper's best (Table 2)
norm_cfg = dict(type='BN')
levels = [512, 1024, 1024]  # channels of F_v2, F_v3, F_v4 made from the ViT tokens
data_preprocessor = dict(size=input_size)
model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(
        arch='ViT-B-16', out_indices=(11, ), out_global=True, vit_levels=levels,
        pretrained=pretrained),
    text_encoder=dict(arch='ViT-B-16', word_len=word_len, pretrained=pretrained),
    neck=dict(
        in_channels=levels, out_channels=[256, 512, 1024], sentence_dim=512,
        return_inputs=True, norm_cfg=norm_cfg),
    decode_head=dict(
        _delete_=True,
        type='MMNetHead',
        in_channels=512,
        channels=256,  # C_p = C / 2
        query_generator=dict(
            type='MultiQueryGenerator',
            num_queries=num_queries,
            in_channels=512,
            embed_dims=512,
            text_dims=512,
            global_dim=512,
            grid_size=(input_size[0] // 16, input_size[1] // 16),
            visual_neck=dict(
                type='SentenceGatedFPN', gate=False, in_channels=levels,
                out_channels=[256, 512, 1024], norm_cfg=norm_cfg),
            norm_cfg=norm_cfg),
        num_layers=3,
        num_heads=8,
        feedforward_channels=2048,
        dropout=0.1,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))

# The dataset bases letterbox to 416: MMNet's 480 pipelines, for the leaf configs to put in
# their dataloaders (`{{_base_.train_pipeline_480}}`).
pad_val = (104.09, 116.75, 122.77)  # CLIP mean * 255, BGR
train_pipeline_480 = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='LetterboxResize', scale=input_size, pad_val=pad_val, backend='cris'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
test_pipeline_480 = [  # annotation after the resize: scored at the original size
    dict(type='LoadImageFromFile'),
    dict(type='LetterboxResize', scale=input_size, pad_val=pad_val, backend='cris'),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
