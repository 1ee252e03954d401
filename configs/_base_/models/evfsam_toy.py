# A tiny EVF-SAM (evfsam_sam-h-beit3-l.py made small) for tests and the toy data, random
# init: a 2-block SAM-style ViT of width 64 on a 128 input (patch 8: 16 x 16 embeddings, a
# window-8 block then a global one), a 2-layer BEiT-3 of width 64 over a 64 x 64 view (one
# patch) and the sentence, kept at its random init (frozen; its projection to the prompt
# trains), SAM's prompt encoder and two-way mask decoder at width 64 (64 x 64 logits; the
# decoder's MLPs 8x its width, SAM's ratio: 2048 at 256).
# The tokenizer is a sentencepiece word model of the toy vocabulary, written with the toy
# data (mmris.datasets.toy.write_toy_spm):
#   python tools/dataset_converters/generate_toy_data.py --out data/toy
_base_ = ['./evfsam_sam-h-beit3-l.py']
input_size = (128, 128)
tokenizer = 'data/toy/spm-tiny.model'
model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(
        arch=dict(_delete_=True, embed_dim=64, depth=2, num_heads=4, global_attn_indexes=(1, )),
        img_size=128, patch_size=8, out_chans=64, window_size=8, frozen=False,
        pretrained=None),
    text_encoder=dict(
        tokenizer=tokenizer,
        arch=dict(_delete_=True, embed_dims=64, num_layers=2, num_heads=4, ffn_dims=256),
        # [chosen] the view as one patch: with 64 patches the first token's attention
        # hardly reaches the words (docs/models/evf_sam.md "Toy")
        vocab_size=32, img_size=64, patch_size=64, out_channels=64, word_len=16,
        # [chosen] from scratch: linears at +-0.1 (unilm's +-0.02 leaves the first token
        # nearly blind to the sentence), position embeddings at std 0.02 (torchscale's
        # N(0, 1) drowns the word embeddings, std 64 ** -0.5), the prompt 16x PyTorch's
        # init (SAM's own tokens are N(0, 1): a faint prompt is read slowly)
        init_std=0.1, pos_init_std=0.02, proj_init_gain=16.,
        # [chosen] frozen at the random init, the view's patch embedding 0.01x PyTorch's:
        # a random BEiT-3 hands the decoder the sentence faster than one trained from
        # scratch, and a full-size view token is noise in that prompt
        frozen=True, view_init_gain=0.01, pretrained=None),
    decode_head=dict(
        embed_dims=64, image_embedding_size=16, input_size=128, depth=2, num_heads=4,
        mlp_dims=512, iou_head_hidden_dims=64, pretrained=None))
# Annotation before the resizes (the flip needs it): the masks follow the image (padding 255,
# ignored) and the loss compares at the input; at test time the annotation loads after
# them and the metric scores at the original size.
sam_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferAnnotation'),
    dict(type='ReferRandomFlip', prob=0.5),  # swaps "left" / "right" in the sentence
    dict(type='ImageView', scale=(64, 64)),
    dict(type='ResizeLongestSide', long_side=128),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
sam_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ImageView', scale=(64, 64)),
    dict(type='ResizeLongestSide', long_side=128),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
