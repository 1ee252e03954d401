# EVF-SAM2 (hustvl/EVF-SAM, model/evf_sam2.py): EVF-SAM on SAM-2 Hiera-L. SAM-2 is frozen
# whole (image encoder, prompt encoder, mask decoder: the authors keep its video ability,
# EVF-SAM#20 / #47); only BEiT-3-L and its projection train. SAM-2's three masks are asked for
# and the one of highest predicted IoU is kept (evf_sam2.py). The SAM-2 input is the image
# resized to 1024 x 1024 (no padding, aspect ratio not kept: EVF-SAM#22).
_base_ = ['./evfsam_sam-h-beit3-l.py']
sam2_checkpoint = 'checkpoints/sam2/sam2_hiera_large.pt'  # SAM 2.0's release (model: ...)
model = dict(
    backbone=dict(
        _delete_=True, type='SAM2ImageEncoder', arch='hiera_l', frozen=True,
        pretrained=sam2_checkpoint),
    decode_head=dict(
        _delete_=True, type='SAM2MaskHead', multimask_output=True, frozen=True,
        bce_weight=1.0, dice_weight=1.0, pretrained=sam2_checkpoint),
    # the 256 x 256 logits resized straight to the image (evf_sam2.py's postprocess_masks;
    # SAM's upsample-to-1024-then-resize differs by up to 0.2 on random-weight logits)
    test_cfg=dict(undo_resize='direct'))
sam_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ImageView', scale=(224, 224)),
    dict(type='RISResize', scale=(1024, 1024), interpolation='bilinear'),
    dict(type='LoadReferAnnotation'),
    dict(type='CleanSentence'),
    dict(type='PackReferInputs'),
]
sam_test_pipeline = sam_train_pipeline
