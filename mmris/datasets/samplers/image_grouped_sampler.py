"""A sampler that puts the sentences of one image next to each other in a batch."""
import math
from collections import OrderedDict
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dataset import ConcatDataset, DefaultSampler

from mmris.registry import DATA_SAMPLERS


def _image_keys(dataset: Sized) -> List[str]:
    """The image of every sample, without drawing a sentence (no random state is used)."""
    if isinstance(dataset, ConcatDataset):
        return [k for d in dataset.datasets for k in _image_keys(d)]
    if hasattr(dataset, 'sample_image_paths'):  # ReferDataset: no ref deserialized
        return dataset.sample_image_paths()
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


@DATA_SAMPLERS.register_module()
class ImageGroupedSampler(DefaultSampler):
    """Shuffled samples, those of one image consecutive, at most ``group_size`` at a time.

    LISA's referring data (the code base EVF-SAM trained with) draws an image and up to 3 of
    its sentences per sample, so one step sees several targets on the same image, which only
    the sentence tells apart. With ``text_mode='random'`` (one sample per ref) this sampler
    gives the same: each epoch the images are shuffled, the samples of each image shuffled
    and cut into runs of at most ``group_size``, the runs shuffled and concatenated. Every
    sample still comes once per epoch. Across processes each rank takes a contiguous block
    (DefaultSampler interleaves, which would split the runs).

    Args:
        dataset (Sized): The dataset (a ReferDataset, a ConcatDataset of them, or any dataset
            whose ``get_data_info`` has ``img_path``).
        group_size (int): Most samples of one image in a row. Defaults to 3 (LISA's
            ``num_classes_per_sample``).
        shuffle (bool): Must be True (a grouped order of a test split is pointless).
        seed (int, optional): Defaults to the runner's seed.
        round_up (bool): Pad the list so that every rank gets as many samples.
            Defaults to True.
    """

    def __init__(self,
                 dataset: Sized,
                 group_size: int = 3,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        if not shuffle:
            raise ValueError('ImageGroupedSampler is a training sampler: shuffle must be '
                             'True (use DefaultSampler for evaluation)')
        if group_size < 1:
            raise ValueError(f'group_size must be >= 1, got {group_size}')
        super().__init__(dataset, shuffle=True, seed=seed, round_up=round_up)
        groups: 'OrderedDict[str, List[int]]' = OrderedDict()
        for i, key in enumerate(_image_keys(dataset)):
            groups.setdefault(key, []).append(i)
        self.groups = list(groups.values())
        self.group_size = group_size

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        runs = []
        for group in self.groups:
            perm = torch.randperm(len(group), generator=g).tolist()
            members = [group[p] for p in perm]
            runs += [members[i:i + self.group_size]
                     for i in range(0, len(members), self.group_size)]
        order = torch.randperm(len(runs), generator=g).tolist()
        indices = [i for k in order for i in runs[k]]
        if self.round_up:
            indices = (indices * math.ceil(self.total_size / len(indices)))[:self.total_size]
        # as many per rank as DefaultSampler gives (its ``num_samples``), in blocks
        n = len(indices)
        sizes = [math.ceil((n - r) / self.world_size) for r in range(self.world_size)]
        start = sum(sizes[:self.rank])
        return iter(indices[start:start + sizes[self.rank]])
