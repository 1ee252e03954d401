# A small Mask Grounding auxiliary head (MagNet's masked word prediction) for the tiny toy
# models, whose words are 64 wide (the tiny CLIP text tower). A config adds it with
#   model = dict(auxiliary_head=dict(in_channels=C, **_base_.mask_grounding_tiny))
# (C: channels of the visual map the head reads).
mask_grounding_tiny = dict(
    type='MaskGroundingHead',
    text_dims=64,
    embed_dims=64,
    num_layers=1,
    num_heads=4,
    feedforward_channels=256,
    pool_size=8)
