# A tiny LAVT for tests and the toy dataset (lavt_swin-b.py made small): a 4-stage Swin of
# width 32, the tiny CLIP text tower of cris_tiny.py (64 wide; its BPE vocabulary ships with
# open_clip, so no BERT directory is needed), random init, 128 x 128 input.
# From scratch, the Swin needs three things the ImageNet-pretrained one does not (measured
# on the toy, configs/lavt/README.md): fixed sine positions on the patch embeddings
# (`sine_pos`: Swin's relative positions alone leave "leftmost" / "on the right" below the
# sentence-blind bound), window 8 (stage 1 windows then hold a whole object) and a
# convolutional stem instead of the 4 x 4 linear patch (`stem_channels`: four 3x3
# conv-BN-ReLU, strides 2, 2, 1, 1; the local shape features that "circle" / "triangle"
# need). Windows fitted to the 128 input as the official Swin does (`fit_windows_to`:
# stage 3's 8 x 8 map attends whole, stage 4's 4 x 4 map is not padded to 8 x 8).
# 4 PWAM heads (the official code's `--mha 4-4-4-4`; LAVT's default 1), no drop path.
_base_ = ['./lavt_swin-b.py']
input_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=input_size),
    # stage maps: 32 x 32 x 32, 64 x 16 x 16, 128 x 8 x 8, 256 x 4 x 4
    backbone=dict(
        pretrain_img_size=224,
        embed_dims=32,
        depths=(2, 2, 2, 2),
        num_heads=(1, 2, 4, 8),
        window_size=8,
        drop_path_rate=0.0,
        sine_pos=True,
        stem_channels=(16, 32, 32, 32),
        fit_windows_to=128,
        fusion=dict(num_heads=4),
        text_dims=64,
        pretrained=None),
    text_encoder=dict(
        _delete_=True,
        type='CLIPTextEncoder',
        arch=dict(width=64, heads=4, layers=2, output_dim=64),
        word_len=17,
        pretrained=None),
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=64))
