# CoupAlign with the CLIP ViT-B/16 text tower instead of BERT (no `transformers` needed):
# 512-wide words into the WPA blocks, the EOT sentence embedding (512) into SMA, 20 tokens.
# CLIP weights: a local OpenAI / open_clip file, loaded by init_weights (text part only).
_base_ = ['./coupalign_swin-b_8xb4-40e_refcoco-480.py']
clip_pretrained = 'checkpoints/clip/ViT-B-16.pt'
model = dict(
    backbone=dict(text_dims=512),
    text_encoder=dict(_delete_=True, type='CLIPTextEncoder', arch='ViT-B-16', word_len=20,
                      pretrained=clip_pretrained),
    decode_head=dict(sentence_dims=512))
# No BERT layers to freeze (LAVT recipe) here; the CLIP tower trains at lr x0.1 (as CRIS).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        '_delete_': True,
        'relative_position_bias_table': dict(decay_mult=0.),
        'absolute_pos_embed': dict(decay_mult=0.),
        'text_encoder': dict(lr_mult=0.1),
    }))
