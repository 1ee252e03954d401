# The CoupAlign model users train first:  tools/dist_train.sh configs/coupalign_swin-b.py 8
# = configs/coupalign/coupalign_swin-b_8xb4-40e_refcoco-480.py (Swin-B window 12 from the
# ImageNet-22k 384 checkpoint, BERT-base from checkpoints/bert-base-uncased, RefCOCO,
# 8 GPUs x 4 images, 40 epochs, 480 x 480).
_base_ = ['./coupalign/coupalign_swin-b_8xb4-40e_refcoco-480.py']
