# The tiny Swin of the toy models (a variable, no `model`: a config adds it with
#   model = dict(backbone=dict(**_base_.swin_tiny_toy, ...))
# or `dict(_base_.swin_tiny_toy, key=value, ...)` to change a field): 4 stages of width 32
# (maps 32 x 32 x 32, 64 x 16 x 16, 128 x 8 x 8, 256 x 4 x 4 at 128 x 128), random init,
# words 64 wide (the tiny text encoders). Used by lavt_toy.py (LAVT, CoupAlign),
# magnet_toy.py and configs/examples.
# From scratch, the Swin needs three things the ImageNet-pretrained one does not (measured
# on the toy, configs/lavt/README.md): fixed sine positions on the patch embeddings
# (`sine_pos`: Swin's relative positions alone leave "leftmost" / "on the right" below the
# sentence-blind bound), window 8 (stage 1 windows then hold a whole object) and a
# convolutional stem instead of the 4 x 4 linear patch (`stem_channels`: four 3x3
# conv-BN-ReLU, strides 2, 2, 1, 1; the local shape features that "circle" / "triangle"
# need). Windows fitted to the 128 input as the official Swin does (`fit_windows_to`:
# stage 3's 8 x 8 map attends whole, stage 4's 4 x 4 map is not padded to 8 x 8). No drop
# path.
swin_tiny_toy = dict(
    type='SwinFusion',
    pretrain_img_size=224,
    embed_dims=32,
    depths=(2, 2, 2, 2),
    num_heads=(1, 2, 4, 8),
    window_size=8,
    drop_path_rate=0.0,
    sine_pos=True,
    stem_channels=(16, 32, 32, 32),
    fit_windows_to=128,
    text_dims=64,
    pretrained=None)
