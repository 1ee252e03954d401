"""Batches with real sentences for the speed and FLOPs tools."""
import os.path as osp
import random
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.registry import DATASETS, TRANSFORMS

# RefCOCO-style expressions (3-10 words) for runs without the dataset at hand.
SENTENCES = [
    'the man in the red shirt on the left',
    'woman with umbrella',
    'second giraffe from the right',
    'a white cup next to the laptop',
    'the small dog lying on the couch',
    'player in blue about to hit the ball',
    'bowl of broccoli closest to us',
    'guy on far right wearing a black jacket',
]


def synthetic_batch(batch_size: int, input_size: Tuple[int, int],
                    ori_shape: Tuple[int, int] = (480, 640), seed: int = 0,
                    per_image: int = 1) -> dict:
    """A batch as the data pipeline makes it: letterboxed uint8 images of ``input_size``
    (h, w) for images of ``ori_shape`` (h, w), a sentence each, a random target mask.

    Args:
        batch_size (int): Number of samples.
        input_size (tuple): Network input (h, w).
        ori_shape (tuple): Original image (h, w); the model maps its masks back there.
        seed (int): Random seed.
        per_image (int): Sentences per image: samples ``k * per_image ...`` share the image
            of sample ``k * per_image`` (the order ``text_mode='all'`` splits and
            ``ImageGroupedSampler`` give). Defaults to 1.

    Returns:
        dict: ``inputs`` (list of C,H,W uint8 tensors) and ``data_samples``.
    """
    g = torch.Generator().manual_seed(seed)
    h, w = input_size
    scale = min(h / ori_shape[0], w / ori_shape[1])
    nh, nw = round(ori_shape[0] * scale), round(ori_shape[1] * scale)
    top, left = (h - nh) // 2, (w - nw) // 2
    pad_param = [top, h - nh - top, left, w - nw - left]
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)
                      if i % per_image == 0 else inputs[-1])
        s = SegDataSample(metainfo=dict(
            text=SENTENCES[i % len(SENTENCES)], ori_shape=ori_shape, img_shape=(h, w),
            pad_shape=(h, w), pad_param=pad_param, ref_id=i, sent_id=i))
        s.gt_sem_seg = PixelData(
            data=(torch.rand(1, h, w, generator=g) > 0.7).long())
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def dataset_batches(cfg: Config, batch_size: int, num_batches: int,
                    split_key: str = 'test_dataloader') -> Optional[List[dict]]:
    """``num_batches`` batches from the config's dataset (real images and sentences), or None
    when its files are not on this machine."""
    ds_cfg = cfg[split_key]['dataset']
    root = ds_cfg.get('data_root', '')
    if not osp.exists(osp.join(root, ds_cfg.get('ann_file', ''))):
        return None
    dataset = DATASETS.build(ds_cfg)
    order = list(range(len(dataset)))
    random.Random(0).shuffle(order)
    batches = []
    for b in range(num_batches):
        idx = [order[(b * batch_size + i) % len(order)] for i in range(batch_size)]
        batches.append(pseudo_collate([dataset[i] for i in idx]))
    return batches


def add_image_views(batch: dict, pipeline: Sequence[dict]) -> dict:
    """Give each synthetic sample the second image view the config's pipeline makes (EVF-SAM's
    224 x 224 BEiT-3 input: its :class:`ImageView` step), here from the network input image.

    Args:
        batch (dict): A :func:`synthetic_batch`, changed in place.
        pipeline (Sequence[dict]): The config's test pipeline (without an ``ImageView`` step
            nothing changes).

    Returns:
        dict: The same batch.
    """
    steps = [t for t in pipeline if t.get('type') in ('ImageView', 'mmris.ImageView')]
    if not steps:
        return batch
    view = TRANSFORMS.build(steps[0])
    for img, sample in zip(batch['inputs'], batch['data_samples']):
        out = view.transform(dict(img=img.permute(1, 2, 0).numpy()))['img_view']  # h, w, 3
        sample.set_data(dict(img_view=torch.from_numpy(out.transpose(2, 0, 1).copy())))
    return batch
