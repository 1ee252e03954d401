# EVF-SAM2 (SAM-2 Hiera-L + BEiT-3-L) trained on RefCOCO+ (UNC): val, testA (test_dataloader), testB.
# The RefCOCO config with RefCOCO+'s files (recipe, model and views unchanged).
_base_ = ['./evfsam2_hiera-l-beit3-l_8xb48-15k_refcoco-1024.py']
files = dict(ann_file='refcoco+/instances.json', split_file='refcoco+/refs(unc).p')
train_dataloader = dict(dataset=files)
val_dataloader = dict(dataset=files)
test_dataloader = dict(dataset=files)
