import numpy as np
import pytest
from mmengine.dataset import ConcatDataset

from mmris.datasets import ImageGroupedSampler, ReferDataset
from .conftest import ref, write_refer

# image 1: five refs, image 2: two refs (one sample each with text_mode='random')
REFS = [ref(i, 1 + i % 2, 1, 'train', [f'one {i}', f'uno {i}']) for i in range(1, 6)] + \
       [ref(i, 3, 2, 'train', [f'two {i}']) for i in range(6, 8)]


def build(tmp_path, **kwargs):
    files = write_refer(tmp_path, REFS)
    ds = ReferDataset(**files, split='train', text_mode='random', pipeline=[])
    return ds, ImageGroupedSampler(ds, seed=0, **kwargs)


def images_of(ds, order):
    return [ds.get_data_info(i)['image_id'] for i in order]


def blocks(seq, value):
    """How many contiguous runs of ``value`` the sequence has."""
    return sum(1 for i, v in enumerate(seq) if v == value and (i == 0 or seq[i - 1] != value))


def test_every_sample_once_and_images_together(tmp_path):
    ds, sampler = build(tmp_path)
    state = np.random.get_state()[1].copy()
    ImageGroupedSampler(ds, seed=0)  # building it draws no sentence
    assert (np.random.get_state()[1] == state).all()
    orders = []
    for epoch in range(6):
        sampler.set_epoch(epoch)
        order = list(sampler)
        assert sorted(order) == list(range(7)) and len(sampler) == 7
        imgs = images_of(ds, order)
        assert blocks(imgs, 2) == 1  # image 2's two samples are one run
        assert blocks(imgs, 1) <= 2  # image 1's five: runs of at most 3
        orders.append(order)
    assert len({tuple(o) for o in orders}) > 1  # reshuffled every epoch
    sampler.set_epoch(3)
    assert list(sampler) == orders[3]  # and reproducible


def test_group_size_one_and_bad_arguments(tmp_path):
    ds, sampler = build(tmp_path, group_size=1)
    assert sorted(sampler) == list(range(7))
    with pytest.raises(ValueError, match='shuffle must be True'):
        ImageGroupedSampler(ds, shuffle=False)
    with pytest.raises(ValueError, match='group_size'):
        ImageGroupedSampler(ds, group_size=0)


@pytest.mark.parametrize('round_up', [True, False])
def test_ranks_take_contiguous_blocks(tmp_path, round_up):
    ds, _ = build(tmp_path)
    parts = []
    for rank in range(2):
        s = ImageGroupedSampler(ds, seed=0, round_up=round_up)
        s.rank, s.world_size = rank, 2
        s.num_samples = 4 if round_up else (7 - rank + 1) // 2
        s.total_size = 8 if round_up else 7
        parts.append(list(s))
        assert len(parts[-1]) == s.num_samples
    assert set(parts[0]) | set(parts[1]) == set(range(7))
    one = ImageGroupedSampler(ds, seed=0, round_up=round_up)
    assert parts[0] + parts[1] == (list(one) + list(one))[:len(parts[0]) + len(parts[1])]


def test_concatenated_sets_group_by_image_file(tmp_path):
    files = write_refer(tmp_path, REFS)
    a = ReferDataset(**files, split='train', text_mode='random', pipeline=[])
    b = ReferDataset(**files, split='train', text_mode='all', pipeline=[])  # 12 samples
    ds = ConcatDataset([a, b])
    sampler = ImageGroupedSampler(ds, seed=0, group_size=100)
    order = list(sampler)
    assert sorted(order) == list(range(len(ds))) == list(range(19))
    imgs = [ds.get_data_info(i)['image_id'] for i in order]
    assert blocks(imgs, 1) == 1 and blocks(imgs, 2) == 1


def test_built_by_the_runner_from_a_config(tmp_path):
    """``sampler=dict(type='ImageGroupedSampler')`` in a dataloader config (the registry
    lookup the runner does) gives batches whose samples of one image are adjacent."""
    from mmengine.runner import Runner
    files = write_refer(tmp_path, REFS)
    loader = Runner.build_dataloader(
        dict(batch_size=7, num_workers=0, sampler=dict(type='ImageGroupedSampler', shuffle=True),
             dataset=dict(type='ReferDataset', **files, split='train', text_mode='random',
                          pipeline=[])), seed=0)
    assert isinstance(loader.sampler, ImageGroupedSampler)
    (batch, ) = list(loader.batch_sampler)
    imgs = [loader.dataset.get_data_info(i)['image_id'] for i in batch]
    assert sorted(imgs) == [1] * 5 + [2] * 2 and blocks(imgs, 2) == 1


@pytest.mark.parametrize('text_mode', ['random', 'all'])
@pytest.mark.parametrize('indices', [None, 3, -2, [4, 0, 5]])
def test_image_paths_without_reading_the_refs(tmp_path, monkeypatch, text_mode, indices):
    """The sampler reads each sample's image from the dataset's per-ref table (kept
    through ``indices`` and subsets), not by deserializing every ref."""
    files = write_refer(tmp_path, REFS)
    ds = ReferDataset(**files, split='train', text_mode=text_mode, pipeline=[], indices=indices)
    expected = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
    assert ds.sample_image_paths() == expected
    sub = ds.get_subset([1, 0])
    assert sub.sample_image_paths() == [sub.get_data_info(i)['img_path']
                                        for i in range(len(sub))]
    ds.get_subset_(-1)
    assert ds.sample_image_paths() == [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
    from mmengine.dataset import BaseDataset
    monkeypatch.setattr(BaseDataset, 'get_data_info', lambda *a: pytest.fail('deserialized'))
    sampler = ImageGroupedSampler(sub, seed=0)
    assert sorted(i for g in sampler.groups for i in g) == list(range(len(sub)))
