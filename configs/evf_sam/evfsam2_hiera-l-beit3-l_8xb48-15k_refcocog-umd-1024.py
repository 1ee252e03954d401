# EVF-SAM2 (SAM-2 Hiera-L + BEiT-3-L) trained on RefCOCOg (UMD): val, test.
# The RefCOCO config with RefCOCOg's UMD files (recipe, model and views unchanged).
_base_ = ['./evfsam2_hiera-l-beit3-l_8xb48-15k_refcoco-1024.py']
files = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(umd).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=dict(**files, split='test'))
