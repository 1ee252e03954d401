import hashlib
import os
import os.path as osp
import pickle
import re

from mmris.datasets import ReferDataset, generate_toy_refer

SPATIAL = re.compile(r'\b(left|right|leftmost|rightmost|top|bottom)\b')
SMALL = dict(train=12, val=6, testA=5, testB=5)


def digest(root):
    h = hashlib.sha1()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(osp.join(dirpath, name), 'rb') as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def test_toy_layout_determinism_and_words(tmp_path):
    report = generate_toy_refer(str(tmp_path / 'a'), seed=3, num_images=SMALL)
    generate_toy_refer(str(tmp_path / 'b'), seed=3, num_images=SMALL)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b')
    generate_toy_refer(str(tmp_path / 'c'), seed=4, num_images=SMALL)
    assert digest(tmp_path / 'a') != digest(tmp_path / 'c')
    root = str(tmp_path / 'a')
    assert osp.isfile(osp.join(root, 'toyref', 'instances.json'))
    assert len(os.listdir(osp.join(root, 'images'))) == sum(SMALL.values())
    with open(osp.join(root, 'toyref', 'refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    assert {r['split'] for r in refs} == set(SMALL)
    sent_ids = [s['sent_id'] for r in refs for s in r['sentences']]
    assert len(sent_ids) == len(set(sent_ids))
    for r in refs:
        for s in r['sentences']:
            has_spatial = bool(SPATIAL.search(s['sent']))
            if r['split'] == 'testA':
                assert not has_spatial, s
            if r['split'] == 'testB':
                assert has_spatial, s
            assert s['sent'] == s['sent'].lower() and 1 <= len(r['sentences']) <= 3
    for split, n in SMALL.items():
        assert report['splits'][split]['refs'] == 2 * n
        ds = ReferDataset(data_root=root, ann_file='toyref/instances.json',
                          split_file='toyref/refs(unc).p', split=split,
                          data_prefix=dict(img_path='images/'), text_mode='all')
        assert len(ds) == report['splits'][split]['sentences']
        # a model that ignores the sentence: the union of all objects scores far below 40 oIoU
        assert report['blind'][split]['union_oIoU'] < 40


def test_toy_config_pipelines(tmp_path):
    from mmengine.config import Config

    from mmris.registry import DATASETS
    generate_toy_refer(str(tmp_path), seed=0, num_images=dict(train=3, val=2))
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                                   'datasets', 'toy_refer.py'))
    for phase in ('train', 'val'):
        ds_cfg = cfg[f'{phase}_dataloader'].dataset
        ds_cfg.data_root = str(tmp_path)
        ds = DATASETS.build(ds_cfg)
        packed = ds[0]
        sample = packed['data_samples']
        assert tuple(packed['inputs'].shape) == (3, 128, 128)
        assert sample.pad_param.sum() > 0  # about 128 x 96: the letterbox pads
        gt_shape = (128, 128) if phase == 'train' else sample.ori_shape
        assert tuple(sample.gt_sem_seg.data.shape[1:]) == tuple(gt_shape)
        assert sample.text and sample.gt_sem_seg.data.sum() > 0
    assert cfg.val_evaluator.type == 'ReferMetric'


def test_blind_bound_through_metric(tmp_path):
    """The generator's sentence-blind figure equals ReferMetric's oIoU of predicting the union
    of all objects of the image."""
    import json

    import torch
    from mmengine.structures import PixelData

    from mmris.datasets.transforms import decode_segmentation
    from mmris.evaluation import ReferMetric
    report = generate_toy_refer(str(tmp_path), seed=1, num_images=dict(val=20))
    with open(osp.join(tmp_path, 'toyref', 'instances.json')) as f:
        coco = json.load(f)
    ds = ReferDataset(data_root=str(tmp_path), ann_file='toyref/instances.json',
                      split_file='toyref/refs(unc).p', split='val',
                      data_prefix=dict(img_path='images/'),
                      pipeline=[dict(type='LoadReferAnnotation'),
                                dict(type='PackReferInputs')])
    metric = ReferMetric()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        union = sum(decode_segmentation(a['segmentation'], info['height'], info['width'])
                    for a in coco['annotations'] if a['image_id'] == info['image_id'])
        info['img'] = union[..., None].repeat(3, 2)
        sample = ds.pipeline(info)['data_samples']
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(union[None].astype('int64')))
        metric.process({}, [sample.to_dict()])
    res = metric.evaluate(len(ds))
    assert abs(res['oIoU'] - report['blind']['val']['union_oIoU']) < 0.01
    assert res['oIoU'] < 40
