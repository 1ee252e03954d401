"""docs/pretrained.md names every pretrained file the configs expect, with a download
address, and the CLIP file error points to it."""
import glob
import os.path as osp
import re

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DOC = osp.join(ROOT, 'docs', 'pretrained.md')


def _config_paths():
    found = set()
    for path in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True):
        found |= set(re.findall(r"""['"](checkpoints/[^'"]+)['"]""", open(path).read()))
    return sorted(found)


def test_configs_name_pretrained_files():
    assert 'checkpoints/clip/RN50.pt' in _config_paths()


@pytest.mark.parametrize('path', _config_paths())
def test_every_pretrained_file_is_documented(path):
    rows = [line for line in open(DOC) if line.startswith('|') and f'`{path}' in line]
    assert rows, f'docs/pretrained.md has no table row for {path}'
    assert 'https://' in rows[0] or 'hub' in rows[0], f'{path}: no download address'


def test_missing_clip_file_points_to_the_docs(tmp_path):
    from mmris.models.utils.clip_checkpoint import load_clip_state_dict
    with pytest.raises(FileNotFoundError, match=r'CLIP checkpoint not found: .*RN50.pt '
                       r'\(docs/pretrained.md'):
        load_clip_state_dict(str(tmp_path / 'RN50.pt'))
    for link in ('docs/pretrained.md', 'pretrained.md'):
        assert link in open(osp.join(ROOT, 'README.md' if '/' in link else 'docs/index.md')
                            ).read()
