# A tiny CRIS for tests and the toy dataset: the parts of cris_r50.py with small widths,
# random init (no CLIP weights) and a 128 x 128 input. 6.46 M parameters, 3.16 M of them
# the BPE token embedding (49408 x 64).
_base_ = './cris_r50.py'
pretrained = None
input_size = (128, 128)
data_preprocessor = dict(size=input_size)
model = dict(
    data_preprocessor=dict(size=input_size),
    # stride 8 / 16 / 32 maps: 128 / 256 / 128 channels
    backbone=dict(
        arch=dict(_delete_=True, layers=[1, 1, 1, 1], width=16, heads=4, output_dim=128),
        pretrained=None),
    # words: 64 wide; sentence: 128
    text_encoder=dict(
        arch=dict(_delete_=True, width=64, heads=4, layers=2, output_dim=128), pretrained=None),
    neck=dict(in_channels=[128, 256, 128], out_channels=[64, 128, 128], sentence_dim=128),
    decode_head=dict(
        in_channels=128,
        channels=64,
        sentence_dim=128,
        text_dims=64,
        num_layers=1,
        num_heads=4,
        feedforward_channels=256,
        dropout=0.0),
    # [chosen] the toys keep mmris's own letterbox (cv2, whole pixels) and its bilinear undo,
    # under which their learning proofs were measured; cris_r50.py has CRIS's ('cris')
    test_cfg=dict(undo_resize='bilinear'))
