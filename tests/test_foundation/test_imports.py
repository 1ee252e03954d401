import importlib
import subprocess
import sys

import pytest


@pytest.mark.parametrize('name', [
    'mmris', 'mmris.registry', 'mmris.utils', 'mmris.models', 'mmris.datasets',
    'mmris.datasets.transforms', 'mmris.evaluation', 'mmris.visualization', 'mmris.apis',
    'mmris.engine', 'mmseg.models', 'mmseg.apis', 'mmpretrain.models', 'open_clip', 'mmcv.ops',
    'pycocotools.mask', 'torchvision.ops'
])
def test_stack_imports(name):
    assert importlib.import_module(name) is not None


def test_mmcv_has_compiled_ops():
    from mmcv.ops import nms
    import torch
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_version_and_version_check_message():
    import mmris
    assert mmris.__version__.count('.') == 2
    # The version check names what to install when a dependency is out of range.
    code = ('import mmcv; mmcv.__version__ = "2.2.0"\n'
            'try:\n import mmris\nexcept ImportError as e:\n print(e)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout
    assert 'mmcv>=2.1.0,<2.2.0' in out and 'tools/install.sh' in out


def test_every_init_has_all():
    import pathlib

    import mmris
    root = pathlib.Path(mmris.__file__).parent
    missing = [str(p) for p in root.rglob('__init__.py') if '__all__' not in p.read_text()]
    assert missing == []
