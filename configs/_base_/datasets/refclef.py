# RefCLEF (ReferIt), Berkeley splits (train, val, test). Protocol of refcoco.py.
#   data/refclef/instances.json, data/refclef/refs(berkeley).p,
#   data/images/saiapr_tc-12/<file_name of instances.json>
# For the UNC splits (train, val, testA, testB, testC) use split_file='refclef/refs(unc).p'.
_base_ = ['./refcoco.py']
refclef_files = dict(ann_file='refclef/instances.json', split_file='refclef/refs(berkeley).p',
                     data_prefix=dict(img_path='images/saiapr_tc-12/'))
train_dataloader = dict(dataset=refclef_files)
val_dataloader = dict(dataset=refclef_files)
test_dataloader = dict(dataset=dict(**refclef_files, split='test'))
