# LAVT (CVPR 2022) with Swin-B (window 12, ImageNet-22k 384 weights) and BERT-base,
# as in yz93/LAVT-RIS: a PWAM + language gate after each Swin stage (1 head, no dropout),
# the decoder fed the four fused maps, 20 BERT tokens, 480 x 480 input.
# Local files, never downloaded (loaded by init_weights, so the Swin file need not exist to
# build the model; the BERT directory must, for its config and vocabulary):
#   checkpoints/swin/swin_base_patch4_window12_384_22k.pth  (official Swin release)
#   checkpoints/bert-base-uncased/  (config.json, vocab.txt or tokenizer.json, weights)
swin_pretrained = 'checkpoints/swin/swin_base_patch4_window12_384_22k.pth'
bert_dir = 'checkpoints/bert-base-uncased'
word_len = 20
input_size = (480, 480)
norm_cfg = dict(type='BN')  # LAVT converts the whole model to SyncBN for 8 GPUs
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet, RGB
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=input_size)
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='SwinFusion',
        pretrain_img_size=384,
        embed_dims=128,
        depths=(2, 2, 18, 2),
        num_heads=(4, 8, 16, 32),
        window_size=12,
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        fusion=dict(type='PWAMFusion', num_heads=1, dropout=0.0),
        text_dims=768,
        pretrained=swin_pretrained),
    # 'head': a longer sentence keeps its first 20 ids, [SEP] dropped, as the authors'
    # data/dataset_refer_bert.py feeds the released LAVT / MagNet weights
    text_encoder=dict(type='BERTTextEncoder', pretrained=bert_dir, word_len=word_len,
                      truncation='head'),
    decode_head=dict(
        type='LAVTHead',
        in_channels=[128, 256, 512, 1024],
        channels=512,
        class_weight=(0.9, 1.1),
        norm_cfg=norm_cfg),
    train_cfg=dict(),
    # LAVT: argmax of 2 classes = sigmoid of their difference > 0.5, scored at 480 x 480
    test_cfg=dict(threshold=0.5, output_size='input'))
