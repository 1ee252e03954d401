import json
import os.path as osp
import pickle

import numpy as np
import pytest

from mmris.datasets import (GReferDataset, ReferDataset, ReferFormatError, ReferSampleError,
                            select_refs)
from mmris.datasets.transforms import decode_segmentation
from .conftest import DEFAULT_REFS, SQUARE, TWO_PARTS, ref, write_refer

TEST_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LetterboxResize', scale=(32, 32)),
                 dict(type='LoadReferAnnotation'), dict(type='CleanSentence'),
                 dict(type='PackReferInputs')]


@pytest.mark.parametrize('split,expected', [
    ('train', [1]), ('val', [5]), ('testA', [2, 4]), ('testB', [3, 4]), ('testAB', [4]),
    ('test', [2, 3, 4])])
def test_split_rules(split, expected):
    assert [r['ref_id'] for r in select_refs(DEFAULT_REFS, split)] == expected


@pytest.mark.parametrize('split', ['dev', 'testC', 'Train'])
def test_unknown_or_empty_split(refer_files, split):
    with pytest.raises(ReferFormatError, match=f'"{split}".*testAB'):
        ReferDataset(**refer_files, split=split)


def test_text_modes(refer_files):
    ds = ReferDataset(**refer_files, split='val')  # default: all
    assert ds.text_mode == 'all' and len(ds) == 3 and ds.num_refs == 1
    assert [ds.get_data_info(i)['sent_id'] for i in range(3)] == [50, 51, 52]
    assert [ds.get_data_info(i)['text'] for i in range(3)] == ['val one', 'val two',
                                                               'val three']
    train = ReferDataset(**refer_files, split='train')  # default: random
    assert train.text_mode == 'random' and len(train) == 1 and train.num_sentences == 2
    drawn = {train.get_data_info(0)['sent_id'] for _ in range(50)}
    assert drawn == {10, 11}
    first = ReferDataset(**refer_files, split='test', text_mode='first')
    assert len(first) == 3
    assert [first.get_data_info(i)['sent_id'] for i in range(3)] == [20, 30, 40]
    every = ReferDataset(**refer_files, split='test', text_mode='all', serialize_data=False)
    assert len(every) == 5
    info = every.get_data_info(3)
    assert (info['ref_id'], info['sent_id'], info['ann_id'], info['image_id']) == (3, 32, 3, 2)
    assert info['img_path'] == osp.join(refer_files['data_root'], 'b.png')
    assert info['category_id'] == 1 and len(info['segmentations']) == 1
    assert every.metainfo['classes'] == ('background', 'object')


def test_subsets(refer_files):
    ds = ReferDataset(**refer_files, split='test', text_mode='all', indices=[2, 0])
    assert [ds.get_data_info(i)['sent_id'] for i in range(len(ds))] == [40, 20]
    full = ReferDataset(**refer_files, split='test', text_mode='all')
    sub = full.get_subset([1])
    assert len(sub) == 3 and len(full) == 5
    assert [sub.get_data_info(i)['sent_id'] for i in range(3)] == [30, 31, 32]
    full.get_subset_(-1)
    assert len(full) == 1 and full.get_data_info(0)['ref_id'] == 4


def test_end_to_end_sample(refer_files):
    ds = ReferDataset(**refer_files, split='testB', pipeline=TEST_PIPELINE)
    out = ds[0]
    sample = out['data_samples']
    assert tuple(out['inputs'].shape) == (3, 32, 32)
    assert sample.gt_sem_seg.data.shape == (1, 40, 30)  # original size
    assert sample.metainfo['ori_shape'] == (40, 30) and sample.ref_id == 3


def test_missing_ann_id(tmp_path):
    files = write_refer(tmp_path, [ref(1, 99, 1, 'train', ['x'])])
    with pytest.raises(ReferFormatError, match=r'ref_id=1 .*ann_id=99 is missing from'):
        ReferDataset(**files, split='train')


def test_missing_image_id(tmp_path):
    files = write_refer(tmp_path, [ref(1, 1, 7, 'train', ['x'])])
    with pytest.raises(ReferFormatError, match=r'ref_id=1 .*image_id=7 is missing'):
        ReferDataset(**files, split='train')


@pytest.mark.parametrize('content', [b'not a pickle at all', pickle.dumps({'a': 1}),
                                     pickle.dumps([{'ref_id': 1}]), pickle.dumps([])])
def test_split_file_not_refer(refer_files, content):
    with open(osp.join(refer_files['data_root'], 'refs(unc).p'), 'wb') as f:
        f.write(content)
    with pytest.raises(ReferFormatError, match=r'refs\(unc\)\.p is not a REFER split file'):
        ReferDataset(**refer_files, split='train')


def test_degenerate_polygon_at_build(tmp_path):
    anns = [dict(id=1, image_id=1, category_id=1, segmentation=[SQUARE[0], [1, 1, 5, 5]])]
    files = write_refer(tmp_path, [ref(1, 1, 1, 'train', ['x'])], anns=anns)
    with pytest.raises(ReferFormatError, match=r'ref_id=1, ann_id=1 .*degenerate polygon'):
        ReferDataset(**files, split='train')
    ds = ReferDataset(**files, split='train', invalid_polygon='drop_part',
                      pipeline=TEST_PIPELINE)
    assert ds.get_data_info(0)['segmentations'] == [SQUARE]
    assert ds[0]['data_samples'].gt_sem_seg.data.sum() > 0
    anns[0]['segmentation'] = [[1, 1, 5, 5]]
    files = write_refer(tmp_path, [ref(1, 1, 1, 'train', ['x'])], anns=anns)
    with pytest.raises(ReferFormatError, match='no valid part left'):
        ReferDataset(**files, split='train', invalid_polygon='drop_part')


def test_collinear_polygon_in_pipeline(tmp_path):
    anns = [dict(id=1, image_id=1, category_id=1, segmentation=[[1, 1, 5, 1, 9, 1]])]
    files = write_refer(tmp_path, [ref(1, 1, 1, 'train', ['x'])], anns=anns)
    ds = ReferDataset(**files, split='train', pipeline=TEST_PIPELINE)
    with pytest.raises(ReferSampleError, match=r'empty mask.*ref_id=1, sent_id=10'):
        ds[0]


def test_missing_and_unreadable_image(refer_files):
    ds = ReferDataset(**refer_files, split='testA', pipeline=TEST_PIPELINE)
    with open(osp.join(refer_files['data_root'], 'a.png'), 'wb') as f:
        f.write(b'garbage')
    with pytest.raises(ReferSampleError, match=r'ref_id=2, sent_id=20.*a\.png'):
        ds[0]
    import os
    os.remove(osp.join(refer_files['data_root'], 'a.png'))
    with pytest.raises(ReferSampleError, match=r'ref_id=2, sent_id=20.*a\.png'):
        ds[0]


def test_empty_sentence(tmp_path):
    files = write_refer(tmp_path, [ref(1, 1, 1, 'val', ['ok', ' \t '])])
    ds = ReferDataset(**files, split='val', pipeline=TEST_PIPELINE)
    assert ds[0]['data_samples'].text == 'ok'
    with pytest.raises(ReferSampleError, match=r'empty or whitespace-only.*sent_id=11'):
        ds[1]


def test_grefer(tmp_path):
    grefs = [ref(1, [1, 2], 1, 'val', ['both']), ref(2, [-1], 1, 'val', ['nothing']),
             ref(3, [3], 2, 'val', ['one'])]
    grefs[1]['no_target'] = True
    files = write_refer(tmp_path, grefs, split_name='grefs(unc).json')
    with pytest.raises(ReferFormatError, match='GReferDataset'):
        ReferDataset(**files, split='val')
    ds = GReferDataset(**files, split='val', pipeline=TEST_PIPELINE)
    assert len(ds) == 3
    both, nothing, one = (ds[i]['data_samples'] for i in range(3))
    assert both.no_target is False and both.ann_id == [1, 2]
    union = decode_segmentation(SQUARE, 30, 40) | decode_segmentation(TWO_PARTS, 30, 40)
    assert np.array_equal(both.gt_sem_seg.data[0].numpy(), union) and union.sum() > 150
    assert nothing.no_target is True and int(nothing.gt_sem_seg.data.sum()) == 0
    assert one.no_target is False and int(one.gt_sem_seg.data.sum()) > 0
    with open(osp.join(tmp_path, 'grefs(unc).json')) as f:
        assert len(json.load(f)) == 3
    assert np.array_equal(ds._ref_counts, [1, 1, 1])


def test_grefer_releases(tmp_path):
    """The first release (train / val) and the 2023-08-29 one (+ testA / testB) both load;
    which one it is is kept; the first has no test split."""
    first = [ref(1, [1, 2], 1, 'train', ['both']), ref(2, [-1], 1, 'val', ['nothing'])]
    files = write_refer(tmp_path, first, split_name='grefs(unc).json')
    ds = GReferDataset(**files, split='val')
    assert len(ds) == 1 and ds.release == '2023-06'
    assert ds.metainfo['grefcoco_release'] == '2023-06'
    with pytest.raises(ReferFormatError, match='first gRefCOCO release.*2023-08-29'):
        GReferDataset(**files, split='testA')
    second = first + [ref(3, [3], 2, 'testA', ['one']), ref(4, [-1], 2, 'testB', ['none'])]
    files = write_refer(tmp_path, second, split_name='grefs(unc).json')
    ds = GReferDataset(**files, split='testA')
    assert len(ds) == 1 and ds.release == '2023-08-29'
