"""The model index lists every config, the zoo page is up to date, and `mmris::` config bases
resolve from the installed package."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from .zoo import ROOT, load_index, model_configs, render_zoo, zoo_table_in_docs

METRICS = {'mIoU', 'oIoU'}


def test_index_imports_every_metafile():
    metafiles, _, _ = load_index()
    found = sorted(osp.relpath(p, ROOT)
                   for p in glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yaml')))
    assert sorted(metafiles) == found


def test_every_config_is_in_the_index():
    _, models, collections = load_index()
    listed = [m['Config'] for m in models]
    missing = sorted(set(model_configs()) - set(listed))
    assert not missing, ('configs missing from configs/<model>/metafile.yaml (see '
                         f'docs/add_model.md): {missing}')
    assert len(listed) == len(set(listed)), 'a config is listed twice'
    for m in models:
        assert osp.isfile(osp.join(ROOT, m['Config'])), m['Config']
        assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
        assert m['In Collection'] in collections, m['Name']
        for key in ('Backbone', 'Text Encoder', 'Training Data', 'Crop Size'):
            assert key in m.get('Metadata', {}), (m['Name'], key)
        assert {'Epochs', 'Iterations'} & set(m['Metadata']), (m['Name'], 'Epochs')
        for r in m.get('Results') or []:
            assert r['Task'] == 'Referring Image Segmentation'
            for metric, value in r['Metrics'].items():
                assert metric in METRICS and 0 < value < 100, (m['Name'], metric, value)


def test_index_epochs_are_the_configs():
    """The index's ``Epochs`` is what the config trains (a name like ``..._1xb16-10e_...``
    says it too)."""
    _, models, _ = load_index()
    for m in models:
        cfg = Config.fromfile(osp.join(ROOT, m['Config']))
        if 'max_iters' in cfg.train_cfg:  # iteration-based (EVF-SAM): ``-{n}k_``
            iters = cfg.train_cfg.max_iters
            assert m['Metadata']['Iterations'] == iters, (m['Name'], iters)
            assert f'-{iters // 1000}k_' in m['Name'], (m['Name'], iters)
            continue
        epochs = cfg.train_cfg.max_epochs
        assert m['Metadata']['Epochs'] == epochs, (m['Name'], epochs)
        assert f'-{epochs}e_' in m['Name'], (m['Name'], epochs)


def test_names_and_aliases_are_unique():
    _, models, _ = load_index()
    names = [n.lower() for m in models for n in [m['Name']] + list(m.get('Alias') or [])]
    assert len(names) == len(set(names))


def test_zoo_table_is_up_to_date():
    assert zoo_table_in_docs() == render_zoo(), \
        'docs/model_zoo.md is stale: run `python tests/test_docs/zoo.py`'


def test_mmris_config_bases(tmp_path):
    import mmris  # noqa: F401  (lets mmengine resolve `mmris::`)
    from mmengine.utils import get_installed_path
    pkg = get_installed_path('mmris')
    mim = osp.join(osp.dirname(mmris.__file__), '.mim')
    if not osp.isdir(osp.join(mim, 'configs')):
        pytest.skip('mmris is not installed (pip install -e .): no mmris/.mim')
    assert osp.isfile(osp.join(mim, 'model-index.yml'))
    assert pkg  # the package folder (or its site-packages twin)
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['mmris::cris/cris_tiny_1xb16-10e_toy-128.py']\n"
                     'model = dict(decode_head=dict(num_layers=2))\n')
    cfg = Config.fromfile(str(child))
    assert cfg.model.type == 'ReferringEncoderDecoder'
    assert cfg.model.decode_head.num_layers == 2 and cfg.input_size == (128, 128)
