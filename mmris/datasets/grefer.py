"""gRefCOCO (generalised referring expressions: several targets or none) read from
``grefs(unc).json`` with :class:`~mmris.datasets.ReferDataset`'s machinery."""
from typing import Any, Dict, List, Tuple

from mmengine.logging import print_log

from mmris.registry import DATASETS
from .errors import ReferFormatError
from .refer import ReferDataset

__all__ = ['GReferDataset']


@DATASETS.register_module()
class GReferDataset(ReferDataset):
    """gRefCOCO: ``grefs(unc).json`` (or ``.p``) + ``instances.json``.

    A sentence may refer to several objects (the target is their union) or to none
    (``ann_id == [-1]`` or ``no_target``: empty target). Every sample's info carries
    ``no_target`` (bool), ``ann_id`` as a list, and one segmentation per target object.

    Both annotation releases are read; which one the split file is, is logged and kept in
    :attr:`release` and ``metainfo['grefcoco_release']``:

    - ``'2023-08-29'``: the re-release (ReLA's README, 2023/08/29) with train, val, testA
      and testB; val gained single-target expressions that were missing, and some
      ``ref_id`` / ``sent_id`` were renumbered (training expressions unchanged). ReLA's
      published numbers are on this release.
    - ``'2023-06'``: the first release, train and val only (testA / testB were held back):
      asking it for testA / testB is an error, and its val scores and ids are not
      comparable with the re-release's.

    Args:
        split_file (str): e.g. ``'grefcoco/grefs(unc).json'``.
        split (str): ``'train'``, ``'val'``, ``'testA'``, ``'testB'``.
        **kwargs: As :class:`ReferDataset`.
    """

    release: str = ''

    def _select_refs(self, refs: List[dict]) -> List[dict]:
        splits = {ref['split'] for ref in refs}
        self.release = '2023-08-29' if {'testA', 'testB'} <= splits else '2023-06'
        self._metainfo['grefcoco_release'] = self.release
        print_log(f'GReferDataset: {self.split_file} is the {self.release} release of '
                  f'gRefCOCO (splits {sorted(splits)})', logger='current')
        if self.release == '2023-06' and self.split.startswith('test'):
            raise ReferFormatError(
                f'{self.split_file} is the first gRefCOCO release (2023-06: splits '
                f'{sorted(splits)}), which has no {self.split}: download the 2023-08-29 '
                're-release (henghuiding/gRefCOCO)')
        return super()._select_refs(refs)

    def _targets(self, ref: dict) -> Tuple[List[int], Dict[str, Any]]:
        ann_ids = ref['ann_id']
        ann_ids = list(ann_ids) if isinstance(ann_ids, (list, tuple)) else [ann_ids]
        targets = [a for a in ann_ids if a != -1]
        no_target = bool(ref.get('no_target', False)) or not targets
        if no_target and targets:
            raise ReferFormatError(f'ref_id={ref["ref_id"]} in {self.split_file} is marked '
                                   f'no_target but lists the objects {targets}')
        return targets, dict(no_target=no_target)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        for info in data_list:  # ann_id and category_id always lists
            for key in ('ann_id', 'category_id'):
                value = info[key]
                if not isinstance(value, (list, tuple)):
                    value = [] if value is None else [value]
                info[key] = list(value)
        return data_list
