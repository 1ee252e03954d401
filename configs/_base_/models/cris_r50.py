# CRIS with CLIP RN50: the authors' config/refcoco/cris_r50.yaml (word_len 17, fpn_in
# [512, 1024, 1024], fpn_out [256, 512, 1024], vis_dim 512, word_dim 1024, 3 decoder layers,
# 8 heads, FFN 2048, dropout 0.1). 146.82 M parameters (the authors count 146.85 M with the
# 77-position text embedding and CLIP's logit_scale, which are not kept here).
# CLIP weights: a local OpenAI (TorchScript) or open_clip file, never downloaded; loaded by
# init_weights(), so the file need not exist to build the model. To change it in a child
# config, set both model.backbone.pretrained and model.text_encoder.pretrained.
pretrained = 'checkpoints/clip/RN50.pt'
word_len = 17  # 22 for G-Ref
input_size = (416, 416)
norm_cfg = dict(type='BN')  # the authors convert the whole model to SyncBN
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[122.7709383, 116.7460125, 104.09373615],  # CLIP mean * 255, RGB
    std=[68.5005327, 66.6321579, 70.32316305],  # CLIP std * 255, RGB
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=input_size)
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='CLIPImageEncoder', arch='RN50', out_indices=(1, 2, 3),
                  pretrained=pretrained),
    text_encoder=dict(type='CLIPTextEncoder', arch='RN50', word_len=word_len,
                      pretrained=pretrained),
    neck=dict(
        type='SentenceGatedFPN',
        in_channels=[512, 1024, 1024],
        out_channels=[256, 512, 1024],
        sentence_dim=1024,
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='CRISHead',
        in_channels=512,
        channels=256,
        sentence_dim=1024,
        text_dims=512,
        num_layers=3,
        num_heads=8,
        feedforward_channels=2048,
        dropout=0.1,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(),
    # CRIS's test: probabilities bicubic to the input, warped back to the original size by the
    # inverse letterbox (bicubic), > 0.35 (LetterboxResize(backend='cris') on the way in)
    test_cfg=dict(threshold=0.35, output_size='original', undo_resize='cris'))
