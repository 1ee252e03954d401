# A tiny DETRIS for tests and the toy dataset: the parts of detris_dinov2-l-reg4.py with small
# widths, random init, nothing frozen and a 128 x 128 input. The DINOv2 stand-in is timm's ViT
# with 4 registers and LayerScale (DINOv2's layout) at patch 16 (8 x 8 tokens: 128 is not a
# multiple of 14; the neck and head then work at stride 16, as tiny CRIS's, and cost about
# what tiny CRIS's do: patch 8 made an iteration 3x tiny CRIS's), width 96, 4 blocks, and a
# convolutional stem (four 3x3 stride-2 conv-BN-ReLU, 16-32-32-32, then 1x1) instead of the
# linear patch embedding, as the toy Swin's (from scratch the linear one underfit: val oIoU
# ~50 after 5 epochs); the text tower is cris_tiny.py's (width 64, 2 layers).
_base_ = './detris_dinov2-l-reg4.py'
dinov2_pretrained = None
clip_pretrained = None
input_size = (128, 128)
data_preprocessor = dict(size=input_size)
model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(
        arch=dict(_delete_=True, embed_dim=96, depth=4, num_heads=4), img_size=128,
        patch_size=16, out_indices=(1, 2), adapter_layers=(1, 2, 3), adapter_dims=32,
        text_dims=64, frozen=False, stem_channels=(16, 32, 32, 32), pretrained=None),
    # words: 64 wide; sentence: 128
    text_encoder=dict(
        arch=dict(_delete_=True, width=64, heads=4, layers=2, output_dim=128),
        adapter_layers=(1, ), adapter_dims=32, frozen=False, pretrained=None),
    neck=dict(in_channels=[96, 96, 96], channels=128, sentence_dim=128, num_heads=4),
    decode_head=dict(
        in_channels=128,
        channels=64,
        sentence_dim=128,
        text_dims=64,
        num_layers=1,
        num_heads=4,
        feedforward_channels=256,
        dropout=0.0))
