"""A tiny random CRIS saved as a checkpoint, and an inferencer on it (built once)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_CONFIG = osp.join(ROOT, 'configs', 'cris', 'cris_tiny_1xb16-10e_toy-128.py')


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory) -> str:
    from mmris.registry import MODELS
    from mmris.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny_cris.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(experiment_name='tiny_test')),
               path)
    return path


@pytest.fixture(scope='session')
def inferencer(tiny_checkpoint):
    from mmris.apis import RISInferencer
    return RISInferencer(TINY_CONFIG, weights=tiny_checkpoint, device='cpu',
                         show_progress=False)


@pytest.fixture(scope='session')
def images(tmp_path_factory) -> dict:
    """Colour, grayscale and RGBA PNGs, a corrupt .jpg, an empty file."""
    root = tmp_path_factory.mktemp('imgs')
    rng = np.random.default_rng(0)
    paths = dict(color=root / 'color.png', gray=root / 'gray.png', rgba=root / 'rgba.png',
                 corrupt=root / 'corrupt.jpg', empty=root / 'empty.png')
    cv2.imwrite(str(paths['color']), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    cv2.imwrite(str(paths['gray']), rng.integers(0, 255, (50, 40), dtype=np.uint8))
    cv2.imwrite(str(paths['rgba']), rng.integers(0, 255, (30, 70, 4), dtype=np.uint8))
    paths['corrupt'].write_bytes(b'this is not a jpeg' * 10)
    paths['empty'].write_bytes(b'')
    return {k: str(v) for k, v in paths.items()}
