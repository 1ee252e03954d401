import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch

from mmris.datasets import (BlankSentence, CleanSentence, LetterboxResize, LoadReferAnnotation,
                            PackReferInputs, ReferRandomFlip, ReferSampleError, RISResize)
from mmris.datasets.transforms import decode_segmentation, swap_left_right
from .conftest import SQUARE, TWO_PARTS, rle_mask, uncompressed_rle


def results(segmentations, h=30, w=40, **extra):
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = 200  # left half bright: shows flips
    return dict(img=img, ori_shape=(h, w), img_shape=(h, w), height=h, width=w,
                segmentations=segmentations, ref_id=7, sent_id=70, text='the left one',
                img_path='x.png', **extra)


def test_multipart_polygon_is_union():
    part_a = decode_segmentation([TWO_PARTS[0]], 30, 40)
    part_b = decode_segmentation([TWO_PARTS[1]], 30, 40)
    both = decode_segmentation(TWO_PARTS, 30, 40)
    assert part_a.sum() > 0 and part_b.sum() > 0 and not (part_a & part_b).any()
    assert np.array_equal(both, part_a | part_b)
    assert both[4, 4] == 1 and both[20, 25] == 1 and both[4, 25] == 0


def test_rle_and_crowd():
    mask = rle_mask()
    compressed = mask_utils.encode(np.asfortranarray(mask))
    assert np.array_equal(decode_segmentation(compressed, 40, 30), mask)
    compressed['counts'] = compressed['counts'].decode()  # as JSON stores it
    assert np.array_equal(decode_segmentation(compressed, 40, 30), mask)
    assert np.array_equal(decode_segmentation(uncompressed_rle(mask), 40, 30), mask)


def test_degenerate_polygon_refused():
    with pytest.raises(ValueError, match='degenerate'):
        decode_segmentation([[1, 1, 5, 5]], 30, 40)  # pycocotools would read it as a box


def test_load_annotation_union_and_fields():
    out = LoadReferAnnotation()(results([SQUARE, TWO_PARTS]))
    gt = out['gt_seg_map']
    assert gt.dtype == np.uint8 and gt.shape == (30, 40) and set(np.unique(gt)) == {0, 1}
    expected = decode_segmentation(SQUARE, 30, 40) | decode_segmentation(TWO_PARTS, 30, 40)
    assert np.array_equal(gt, expected) and out['seg_fields'] == ['gt_seg_map']


def test_load_annotation_errors():
    with pytest.raises(ReferSampleError, match='ref_id=7, sent_id=70'):
        LoadReferAnnotation()(results([]))  # no target, no no_target flag
    with pytest.raises(ReferSampleError, match=r'image size \(30, 40\) differs'):
        LoadReferAnnotation()(dict(results([SQUARE]), height=31))
    empty = LoadReferAnnotation()(results([], no_target=True))
    assert empty['gt_seg_map'].sum() == 0


def test_letterbox():
    res = LoadReferAnnotation()(results([SQUARE], h=20, w=40))
    res['img'][:] = 255
    out = LetterboxResize(scale=(32, 32), pad_val=(1, 2, 3))(res)
    assert out['img'].shape == (32, 32, 3) and out['img_shape'] == (32, 32)
    assert out['ori_shape'] == (20, 40)
    assert out['pad_param'].tolist() == [8, 8, 0, 0]
    assert out['scale_factor'] == (32 / 40, 16 / 20)
    assert out['img'][0, 0].tolist() == [1, 2, 3] and out['img'][-1, -1].tolist() == [1, 2, 3]
    assert (out['img'][8:24] == 255).all()
    gt = out['gt_seg_map']
    assert gt.shape == (32, 32) and gt[:8].sum() == 0 and gt[24:].sum() == 0
    # undo: crop the content and resize back: close to the original mask
    top, bottom, left, right = out['pad_param']
    back = LetterboxResize(scale=(40, 20), pad_val=0, interpolation='nearest')(
        dict(img=np.repeat(gt[top:32 - bottom, left:32 - right, None], 3, 2)))['img'][..., 0]
    original = decode_segmentation(SQUARE, 20, 40)
    assert (back != original).mean() < 0.05


def test_letterbox_portrait_and_plain_resize():
    out = LetterboxResize(scale=(32, 32))(dict(img=np.zeros((40, 20, 3), np.uint8)))
    assert out['pad_param'].tolist() == [0, 0, 8, 8]
    res = LoadReferAnnotation()(results([SQUARE]))
    out = RISResize(scale=(16, 24))(res)
    assert out['img'].shape == (24, 16, 3) and out['gt_seg_map'].shape == (24, 16)
    assert out['pad_param'].tolist() == [0, 0, 0, 0]
    assert out['scale_factor'] == (16 / 40, 24 / 30) and out['keep_ratio'] is False


@pytest.mark.parametrize('text,expected', [
    ('the left man right of the tree', 'the right man left of the tree'),
    ('Leftmost cup, LEFT side', 'Rightmost cup, RIGHT side'),
    ('the left-hand glass', 'the right-hand glass'),
    ('the leftover pizza on the right', 'the leftover pizza on the left'),
    ('brightness rightly upright', 'brightness rightly upright'),
])
def test_swap_left_right(text, expected):
    assert swap_left_right(text) == expected
    assert swap_left_right(swap_left_right(text)) == text


def test_flip_swaps_words_image_mask_and_padding():
    res = LoadReferAnnotation()(results([SQUARE], h=20, w=40))
    res = LetterboxResize(scale=(40, 40))(res)
    res['pad_param'] = np.array([10, 10, 3, 5])  # make left/right differ
    img, gt = res['img'].copy(), res['gt_seg_map'].copy()
    out = ReferRandomFlip(prob=1.0)(res)
    assert out['flip'] is True and out['flip_direction'] == 'horizontal'
    assert out['text'] == 'the right one'
    assert np.array_equal(out['img'], img[:, ::-1]) and np.array_equal(out['gt_seg_map'],
                                                                       gt[:, ::-1])
    assert out['pad_param'].tolist() == [10, 10, 5, 3]
    kept = ReferRandomFlip(prob=0.0)(results([SQUARE]))
    assert kept['flip'] is False and kept['text'] == 'the left one'


def test_clean_sentence():
    out = CleanSentence()(dict(text='  The\u00a0RED \t ｃｉｒｃｌｅ\n'))
    assert out['text'] == 'the red circle'
    with pytest.raises(ReferSampleError, match=r'whitespace-only .*ref_id=3, sent_id=4'):
        CleanSentence()(dict(text=' \u3000\t', ref_id=3, sent_id=4))
    with pytest.raises(ReferSampleError, match='not a string'):
        CleanSentence()(dict(text=None, ref_id=3, sent_id=4))


def test_pack():
    res = LoadReferAnnotation()(results([SQUARE]))
    res = CleanSentence()(LetterboxResize(scale=(32, 32))(res))
    packed = PackReferInputs()(res)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.dtype == torch.uint8 and tuple(inputs.shape) == (3, 32, 32)
    assert sample.gt_sem_seg.data.shape == (1, 32, 32)
    assert set(sample.gt_sem_seg.data.unique().tolist()) == {0, 1}
    for key in ('img_path', 'ori_shape', 'img_shape', 'pad_param', 'scale_factor', 'flip',
                'flip_direction', 'text', 'ref_id', 'sent_id'):
        assert key in sample.metainfo, key
    assert sample.text == 'the left one' and sample.flip is False
    assert 'no_target' not in sample.metainfo


def test_blank_sentence_accepted_only_from_blank():
    res = LoadReferAnnotation()(results([SQUARE]))
    with pytest.raises(ReferSampleError, match='empty sentence'):
        PackReferInputs()(dict(res, text=''))
    packed = PackReferInputs()(BlankSentence()(res))
    assert packed['data_samples'].text == ''
