# MMNet with CLIP ViT-L/14: mmnet_vit-b16.py with the larger towers (image width 1024,
# 24 blocks, 14-pixel patches; text width 768; joint width 768). At 480 the patch grid is
# 34 x 34, so the levels are 68 / 34 / 17 and the query grid 34 x 34 (30 x 30 for ViT-B/16:
# the Multi-Query Generator is made for the grid, see MultiQueryGenerator).
_base_ = './mmnet_vit-b16.py'
pretrained = 'checkpoints/clip/ViT-L-14.pt'
model = dict(
    backbone=dict(arch='ViT-L-14', out_indices=(23, ), pretrained=pretrained),
    text_encoder=dict(arch='ViT-L-14', pretrained=pretrained),
    neck=dict(sentence_dim=768),
    decode_head=dict(query_generator=dict(text_dims=768, global_dim=768, grid_size=(34, 34))))
