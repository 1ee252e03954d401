"""RISLocalVisualizer: drawings, file names distinct per sentence, mmseg's hook."""
import os
from unittest.mock import MagicMock

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmengine.visualization import Visualizer
from mmseg.structures import SegDataSample

from mmris.visualization import RISLocalVisualizer, ris_file_stem


def sample(img_path: str, ref_id, sent_id, text: str, shape=(30, 40)) -> SegDataSample:
    s = SegDataSample(metainfo=dict(img_path=img_path, ref_id=ref_id, sent_id=sent_id,
                                    text=text, ori_shape=shape))
    gt = torch.zeros(1, *shape, dtype=torch.long)
    gt[:, 5:15, 5:20] = 1
    s.gt_sem_seg = PixelData(data=gt)
    s.pred_sem_seg = PixelData(data=torch.flip(gt, dims=[-1]))
    return s


@pytest.fixture
def image_file(tmp_path) -> str:
    path = str(tmp_path / 'COCO_1.jpg')
    cv2.imwrite(path, np.full((30, 40, 3), 128, np.uint8))
    return path


def test_file_stem():
    assert ris_file_stem('img', 3, 7) == 'img_ref3_sent7'
    assert ris_file_stem('img', None, 0) == 'img_sent0'
    assert ris_file_stem('img') == 'img'
    s = sample('/x/COCO_1.jpg', 12, 40, 'a')
    assert RISLocalVisualizer.sample_name('whatever', s) == 'COCO_1_ref12_sent40'
    assert RISLocalVisualizer.sample_name('name', None) == 'name'


def test_panels_and_out_file(tmp_path):
    vis = RISLocalVisualizer(name='vis_panels', font_size=8)
    img = np.full((30, 40, 3), 128, np.uint8)
    s = sample('a.jpg', 1, 2, 'the man on the left wearing a very long red coat')
    out = str(tmp_path / 'x.png')
    vis.add_datasample('a', img, s, out_file=out)
    drawn = cv2.imread(out)
    assert drawn.shape == (30, 80, 3)  # GT | Pred
    np.testing.assert_array_equal(vis.get_image(), drawn[..., ::-1])
    vis.add_datasample('a', img, s, draw_gt=False, out_file=out)
    assert cv2.imread(out).shape == (30, 40, 3)
    # a prediction at another size is resized to the image
    small = sample('a.jpg', 1, 2, '', shape=(15, 20))
    vis.add_datasample('a', img, small, draw_gt=False, out_file=out)
    assert cv2.imread(out).shape == (30, 40, 3)


def test_masks_are_drawn_where_they_are(tmp_path):
    vis = RISLocalVisualizer(name='vis_pixels', font_size=8)
    img = np.full((120, 100, 3), 128, np.uint8)
    s = SegDataSample(metainfo=dict(text='x'))
    gt = torch.zeros(1, 120, 100, dtype=torch.long)
    gt[:, 80:110, 10:40] = 1
    s.gt_sem_seg = PixelData(data=gt)
    s.pred_sem_seg = PixelData(data=torch.flip(gt, dims=[-1]))  # columns 60:90
    vis.add_datasample('a', img, s)
    drawn = vis.get_image().astype(int)  # RGB, GT | Pred
    gt_panel, pred_panel = drawn[:, :100], drawn[:, 100:]
    assert gt_panel[95, 25, 1] > gt_panel[95, 25, 0] + 40  # green over the GT mask
    assert pred_panel[95, 75, 0] > pred_panel[95, 75, 1] + 40  # red over the prediction
    assert np.abs(gt_panel[95, 75] - 128).max() <= 1  # no mask: the image
    assert np.abs(pred_panel[95, 25] - 128).max() <= 1


def test_sentences_of_one_image_get_distinct_files(tmp_path, image_file):
    vis = RISLocalVisualizer(name='vis_backend', vis_backends=[dict(type='LocalVisBackend')],
                             save_dir=str(tmp_path))
    img = np.full((30, 40, 3), 128, np.uint8)
    for ref_id, sent_id in ((5, 10), (5, 11), (6, 12)):
        vis.add_datasample('test_COCO_1.jpg', img, sample(image_file, ref_id, sent_id, 'x'))
    files = sorted(os.listdir(tmp_path / 'vis_data' / 'vis_image'))
    assert files == ['COCO_1_ref5_sent10_0.png', 'COCO_1_ref5_sent11_0.png',
                     'COCO_1_ref6_sent12_0.png']


def test_with_mmseg_visualization_hook(tmp_path, image_file):
    """The hook of the configs (``SegVisualizationHook``), as in ``tools/test.py --show-dir``."""
    from mmseg.engine.hooks import SegVisualizationHook
    RISLocalVisualizer.get_instance(
        'vis_hook', vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path))
    assert isinstance(Visualizer.get_current_instance(), RISLocalVisualizer)
    hook = SegVisualizationHook(draw=True, interval=1)
    runner = MagicMock(iter=3)
    outputs = [sample(image_file, 5, 10, 'the left one'), sample(image_file, 5, 11, 'the red')]
    hook.after_test_iter(runner, 0, {}, outputs)
    files = sorted(os.listdir(tmp_path / 'vis_data' / 'vis_image'))
    assert files == ['COCO_1_ref5_sent10_3.png', 'COCO_1_ref5_sent11_3.png']
    drawn = cv2.imread(str(tmp_path / 'vis_data' / 'vis_image' / files[0]))
    assert drawn.shape == (30, 80, 3)
