# A tiny MagNet (magnet_swin-b.py made small) for tests and the toy dataset: the toy
# models' 4-stage Swin of width 32 (swin_tiny_toy.py: window 8, sine positions, conv stem,
# windows fitted to the input), one block per stage (depths 1: measured on the toy, the
# 2-core budget buys more epochs than depth; configs/magnet/README.md), with a CAM after each
# stage, a tiny random-init BERT over the toy vocabulary (64 wide, 4 layers: one per Swin
# stage, before its CAM), a MagNetHead of width 64 and the tiny Mask Grounding head on the
# last stage; 128 x 128 input.
# The BERT directory (config.json + vocab.txt: the 5 special tokens, then every toy word; no
# weights) is written with the toy data (mmris.datasets.toy.write_toy_bert):
#   python tools/dataset_converters/generate_toy_data.py --out data/toy [--bert-only]
_base_ = ['./magnet_swin-b.py', './magnet_mask-grounding_tiny.py', './swin_tiny_toy.py']
input_size = (128, 128)
bert_dir = 'data/toy/bert-tiny'
word_len = 12  # the longest toy sentence is 7 words: 9 tokens with [CLS] and [SEP]
model = dict(
    data_preprocessor=dict(size=input_size),
    # stage maps: 32 x 32 x 32, 64 x 16 x 16, 128 x 8 x 8, 256 x 4 x 4
    backbone=dict(_base_.swin_tiny_toy, depths=(1, 1, 1, 1), text_stages=(1, 2, 3, 4)),
    text_encoder=dict(pretrained=bert_dir, word_len=word_len, load_weights=False),
    decode_head=dict(
        in_channels=[32, 64, 128, 256],
        sentence_dims=64,
        embed_dims=64,
        pixel_layers=1,  # one deformable layer (MagNet: 6): the CPU time of
        pixel_points=2,  # (MagNet: 4) its PyTorch path costs in proportion to the points
        num_layers=3,  # one round over the three coarsest maps (MagNet: 3 rounds)
        num_heads=4,
        feedforward_channels=256,
        pixel_feedforward_channels=256,
        # Mask2Former's default: deformable attention over the three coarsest maps (336
        # tokens), the 32 x 32 map joined by an FPN step
        pixel_encoder_levels=3,
        # L_CAL's pixel-to-pixel term over 256 sampled pixels (MagNet's setting not
        # published; the 1,024 of the 32 x 32 map cost more than its gain on the toy)
        loss_cal=dict(max_pixels=256)),
    auxiliary_head=dict(in_channels=256, **_base_.mask_grounding_tiny))
