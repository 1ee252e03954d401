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


def _photo_like(h, w, seed=0):
    """Smooth gradients + edges + noise: a resize filter shows on it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    img = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                    ((xx // 7 + yy // 5) % 2) * 255], -1).astype(np.float64)
    img += rng.normal(0, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize('hw', [(97, 150), (30, 23)])  # shrink to 48 x 40 / enlarge
def test_pillow_resize_is_torchvision_on_pil(hw):
    """RISResize(backend='pillow') = torchvision's F.resize on the PIL image, image (default
    bilinear, antialiased) and mask (nearest), as LAVT's / MagNet's transforms.Resize."""
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF
    h, w = hw
    rgb = _photo_like(h, w)
    mask = (_photo_like(h, w, seed=1)[..., 0] > 128).astype(np.uint8)
    res = dict(img=rgb[..., ::-1].copy(), gt_seg_map=mask, seg_fields=['gt_seg_map'])
    out = RISResize(scale=(48, 40), backend='pillow')(res)
    ref_img = np.asarray(TF.resize(Image.fromarray(rgb), [40, 48]))
    ref_mask = np.asarray(TF.resize(Image.fromarray(mask, mode='L'), [40, 48],
                                    interpolation=InterpolationMode.NEAREST))
    assert np.array_equal(out['img'][..., ::-1], ref_img)
    assert np.array_equal(out['gt_seg_map'], ref_mask)
    cv = RISResize(scale=(48, 40))(dict(img=rgb[..., ::-1].copy()))['img']
    assert not np.array_equal(cv, out['img'])  # OpenCV's bilinear is another filter
    with pytest.raises(ValueError, match='backend'):
        RISResize(scale=(48, 40), backend='torch')


@pytest.mark.parametrize('hw', [(61, 90), (90, 47)])
def test_letterbox_cris_backend_is_cris_warp(hw):
    """LetterboxResize(backend='cris') = CRIS.pytorch utils/dataset.py written out:
    getTransformMat (float32 corners, content size not rounded) + cv2.warpAffine bicubic with
    the mean as border."""
    import cv2
    h, w = hw
    img = _photo_like(h, w)
    mask = (_photo_like(h, w, seed=2)[..., 1] > 100).astype(np.uint8)
    scale = min(64 / h, 64 / w)
    nh, nw = h * scale, w * scale
    bx, by = (64 - nw) / 2., (64 - nh) / 2.
    src = np.array([[0, 0], [w, 0], [0, h]], np.float32)
    dst = np.array([[bx, by], [nw + bx, by], [bx, nh + by]], np.float32)
    mat = cv2.getAffineTransform(src, dst)
    pad = (104.09, 116.75, 122.77)
    ref = cv2.warpAffine(img, mat, (64, 64), flags=cv2.INTER_CUBIC, borderValue=pad)
    out = LetterboxResize(scale=(64, 64), backend='cris')(
        dict(img=img.copy(), gt_seg_map=mask, seg_fields=['gt_seg_map']))
    assert np.array_equal(out['img'], ref)
    assert out['gt_seg_map'].shape == (64, 64) and set(np.unique(out['gt_seg_map'])) <= {0, 1}
    assert np.array_equal(out['gt_seg_map'], cv2.warpAffine(mask, mat, (64, 64),
                                                            flags=cv2.INTER_NEAREST))
    top, bottom, left, right = out['pad_param']
    assert out['img_shape'] == (64, 64) and top + bottom < 64 and left + right < 64
    assert abs(top - by) <= 0.5 and abs(left - bx) <= 0.5


def test_lavt_config_loads_and_resizes_as_the_authors(tmp_path):
    """The image steps of the LAVT / MagNet configs give the pixels of the authors' loader:
    ``Image.open(f).convert('RGB')`` (EXIF orientation not applied), torchvision's
    ``F.resize`` to 480 x 480, on a JPEG that carries an EXIF rotation."""
    import os.path as osp

    from mmcv.transforms import Compose
    from mmengine.config import Config
    from PIL import Image
    from torchvision.transforms import functional as TF
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs/lavt/lavt_swin-b_8xb4-40e_refcoco-480.py'))
    steps = [t for t in cfg.test_dataloader.dataset.pipeline
             if t['type'] in ('LoadImageFromFile', 'RISResize')]
    assert len(steps) == 2 and cfg.test_dataloader.dataset.text_key == 'raw'
    path = str(tmp_path / 'photo.jpg')
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90" orientation tag
    Image.fromarray(_photo_like(200, 300)).save(path, quality=90, exif=exif)
    out = Compose(steps)(dict(img_path=path))
    ref = np.asarray(TF.resize(Image.open(path).convert('RGB'), [480, 480]))
    assert np.array_equal(out['img'][..., ::-1], ref)
    assert out['ori_shape'] == (200, 300)  # not rotated
