# EVF-SAM (SAM-H + BEiT-3-L) trained on the mixed RefCOCO / RefCOCO+ / RefCOCOg-umd set (EVF-SAM's
# referring data): the three train splits concatenated (one sample per ref and epoch, each
# with its own sentence draw); no image of a val / test split is removed from the union
# [chosen: EVF-SAM / LISA concatenate them as they are].
# Validation here: RefCOCO val. Each split is evaluated separately with the single-dataset
# config of the same model (the weights are the same model's):
#   python tools/test.py configs/evf_sam/evfsam_sam-h-beit3-l_8xb48-15k_refcoco+-1024.py CKPT \
#       [--cfg-options test_dataloader.dataset.split=val|testA|testB]
#   python tools/test.py configs/evf_sam/evfsam_sam-h-beit3-l_8xb48-15k_refcocog-umd-1024.py CKPT
_base_ = ['./evfsam_sam-h-beit3-l_8xb48-15k_refcoco-1024.py']
train_split = dict(split='train', text_mode='random', pipeline=_base_.sam_train_pipeline)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(**_base_.refer_files, **train_split),
            dict(_base_.refer_files, ann_file='refcoco+/instances.json',
                 split_file='refcoco+/refs(unc).p', **train_split),
            dict(_base_.refer_files, ann_file='refcocog/instances.json',
                 split_file='refcocog/refs(umd).p', **train_split),
        ]))
