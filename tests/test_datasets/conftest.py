"""Small REFER-layout fixtures written to a tmp dir."""
import json
import os.path as osp
import pickle

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from PIL import Image

SQUARE = [[2, 2, 12, 2, 12, 12, 2, 12]]  # 10 x 10 pixels on a 40 x 30 image
TWO_PARTS = [[2, 2, 8, 2, 8, 8, 2, 8], [20, 15, 30, 15, 30, 25, 20, 25]]


def rle_mask(h: int = 40, w: int = 30) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[5:15, 3:9] = 1
    mask[20:22, 10:25] = 1
    return mask


def uncompressed_rle(mask: np.ndarray) -> dict:
    flat = mask.flatten(order='F')
    counts, cur, run = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    counts.append(run)
    return dict(counts=counts, size=list(mask.shape))


def ref(ref_id, ann_id, image_id, split, texts, first_sent=None):
    first = ref_id * 10 if first_sent is None else first_sent
    sents = [dict(sent_id=first + i, raw=t, sent=t, tokens=t.split())
             for i, t in enumerate(texts)]
    return dict(ref_id=ref_id, ann_id=ann_id, image_id=image_id, split=split, category_id=1,
                sentences=sents, sent_ids=[s['sent_id'] for s in sents], file_name='x.jpg')


def write_refer(root, refs, anns=None, split_name='refs(unc).p'):
    """Images 1 (40 x 30, w x h) and 2 (30 x 40); annotations 1-4; the given refs."""
    root = str(root)
    Image.fromarray(np.full((30, 40, 3), 100, np.uint8)).save(osp.join(root, 'a.png'))
    Image.fromarray(np.full((40, 30, 3), 150, np.uint8)).save(osp.join(root, 'b.png'))
    compressed = mask_utils.encode(np.asfortranarray(rle_mask()))
    compressed['counts'] = compressed['counts'].decode()
    if anns is None:
        anns = [
            dict(id=1, image_id=1, category_id=1, segmentation=SQUARE, iscrowd=0),
            dict(id=2, image_id=1, category_id=1, segmentation=TWO_PARTS, iscrowd=0),
            dict(id=3, image_id=2, category_id=1, segmentation=compressed, iscrowd=0),
            dict(id=4, image_id=2, category_id=1, segmentation=uncompressed_rle(rle_mask()),
                 iscrowd=1),
        ]
    images = [dict(id=1, file_name='a.png', width=40, height=30),
              dict(id=2, file_name='b.png', width=30, height=40)]
    with open(osp.join(root, 'instances.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=[dict(id=1, name='o')]), f)
    path = osp.join(root, split_name)
    if split_name.endswith('.json'):
        with open(path, 'w') as f:
            json.dump(refs, f)
    else:
        with open(path, 'wb') as f:
            pickle.dump(refs, f)
    return dict(data_root=root, ann_file='instances.json', split_file=split_name,
                data_prefix=dict(img_path=''))


DEFAULT_REFS = [
    ref(1, 1, 1, 'train', ['the left square', 'a box']),
    ref(2, 2, 1, 'testA', ['two squares']),
    ref(3, 3, 2, 'testB', ['the rle', 'compressed', 'thing']),
    ref(4, 4, 2, 'testAB', ['the crowd']),
    ref(5, 1, 1, 'val', ['val one', 'val two', 'val three']),
]


@pytest.fixture
def refer_files(tmp_path):
    return write_refer(tmp_path, DEFAULT_REFS)


@pytest.fixture(scope='session', autouse=True)
def _registered():
    # Only the data side: the tests do not depend on mmris.models.
    from mmengine.registry import DefaultScope

    import mmris.datasets  # noqa: F401
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('mmris-data-tests', scope_name='mmris')
