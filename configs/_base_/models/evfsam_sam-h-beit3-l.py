# EVF-SAM (hustvl/EVF-SAM, model/evf_sam.py): SAM ViT-H (frozen) encodes the image at 1024
# (longest side resized, padded right / bottom); BEiT-3-L encodes a 224 x 224 view of the image
# together with the sentence (XLM-R sentencepiece); its first token, Linear-ReLU-Linear to
# 256, is appended to SAM's sparse prompt; SAM's mask decoder (trained) gives 256 x 256 logits,
# upsampled, cropped and resized to the original image by the segmentor.
# Weights: local files, never downloaded; loaded by init_weights() (the files need not exist
# to build the model). The two views come from the data pipeline below (ImageView +
# ResizeLongestSide); the annotation loads after the resizes, so the loss and the metric see
# the mask at the original size (EVF-SAM's forward).
sam_checkpoint = 'checkpoints/sam/sam_vit_h_4b8939.pth'  # SAM's release (image_encoder.* ...)
beit3_checkpoint = 'checkpoints/beit3/beit3_large_patch16_224.pth'  # unilm BEiT-3 (model: beit3.*)
tokenizer = 'checkpoints/beit3/beit3.spm'  # unilm BEiT-3's sentencepiece model
input_size = (1024, 1024)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # SAM's pixel mean / std, RGB
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=input_size)
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='SAMImageEncoder', arch='vit_h', frozen=True, pretrained=sam_checkpoint),
    text_encoder=dict(
        type='BEiT3FusionEncoder', tokenizer=tokenizer, arch='large', out_channels=256,
        pretrained=beit3_checkpoint),
    decode_head=dict(
        type='SAMMaskHead', multimask_output=False, frozen=False, bce_weight=1.0,
        dice_weight=1.0, pretrained=sam_checkpoint),
    train_cfg=dict(),
    test_cfg=dict(threshold=0.5, output_size='original'),  # logits > 0, as EVF-SAM
    # SAM's encoder once per image for the consecutive sentences of one image (EVF-SAM's
    # forward does the same); exact (no batch statistics in SAM's ViT)
    dedup_images=True)
# ... which the training sampler provides: the refs of one image in runs of up to 3 (LISA's
# `num_classes_per_sample`; configs/_base_/schedules/schedule_evfsam_15k.py), for the leaf
# configs' train_dataloader
train_sampler = dict(type='ImageGroupedSampler', group_size=3)
# The views: 224 x 224 for BEiT-3 (bicubic, from the whole image), 1024 longest side + pad
# for SAM (PIL bilinear, as SAM's ResizeLongestSide). No augmentation (LISA / EVF-SAM).
sam_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ImageView', scale=(224, 224)),
    dict(type='ResizeLongestSide', long_side=1024),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
sam_test_pipeline = sam_train_pipeline
