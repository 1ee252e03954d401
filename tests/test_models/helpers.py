"""Shared helpers of the model tests."""
import copy
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.utils import register_all_modules

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'models')

register_all_modules()


def model_cfg(name: str) -> dict:
    """The ``model`` dict of ``configs/_base_/models/<name>.py``."""
    return copy.deepcopy(Config.fromfile(osp.join(CONFIGS, f'{name}.py')).model.to_dict())


def make_sample(text: str, ori_shape=(96, 128), img_shape=(128, 128), pad_param=None,
                gt=None) -> SegDataSample:
    """A SegDataSample as the data pipeline would give it."""
    meta = dict(text=text, ori_shape=ori_shape, img_shape=img_shape,
                batch_input_shape=img_shape)
    if pad_param is not None:
        meta['pad_param'] = pad_param
    sample = SegDataSample(metainfo=meta)
    if gt is None:
        gt = torch.zeros(1, *img_shape, dtype=torch.long)
    sample.gt_sem_seg = PixelData(data=gt)
    return sample
