"""demo/image_demo.py: one overlay per sentence, as a script and in process."""
import importlib.util
import os
import os.path as osp

import cv2
import pytest

from .conftest import ROOT, TINY_CONFIG

DEMO = osp.join(ROOT, 'demo', 'image_demo.py')
IMAGE = osp.join(ROOT, 'demo', 'demo.png')


def load_demo():
    spec = importlib.util.spec_from_file_location('image_demo', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_one_sentence(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / 'overlay.png'
    load_demo().main([IMAGE, 'the big triangle', TINY_CONFIG, tiny_checkpoint, '--out-file',
                      str(out), '--device', 'cpu'])
    assert 'sentence 0 "the big triangle"' in capsys.readouterr().out
    assert cv2.imread(str(out)).shape == cv2.imread(IMAGE).shape


def test_demo_several_sentences(tiny_checkpoint, tmp_path):
    demo = load_demo()
    preds = demo.main([IMAGE, 'the big triangle', 'the red one on the right', TINY_CONFIG,
                       tiny_checkpoint, '--out-file', str(tmp_path / 'o.png'), '--out-dir',
                       str(tmp_path / 'dir'), '--device', 'cpu'])
    assert len(preds) == 2
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.png')) == \
        ['o_sent0.png', 'o_sent1.png']
    assert sorted(os.listdir(tmp_path / 'dir' / 'vis')) == ['demo_sent0.png', 'demo_sent1.png']
    assert sorted(os.listdir(tmp_path / 'dir' / 'pred')) == ['demo_sent0.png', 'demo_sent1.png']


def test_demo_arguments():
    demo = load_demo()
    args = demo.parse_args(['i.png', 'a', 'b', 'c', 'cfg.py', 'w.pth', '--out-dir', 'x'])
    assert args.texts == ['a', 'b', 'c'] and args.config == 'cfg.py'
    assert demo.out_files('x/o.jpg', 1) == ['x/o.jpg']
    assert demo.out_files('x/o', 2) == ['x/o_sent0.png', 'x/o_sent1.png']
    with pytest.raises(SystemExit):
        demo.parse_args(['i.png', 'a', 'cfg.py', 'w.pth'])  # nothing to write or show
    with pytest.raises(SystemExit):
        demo.parse_args(['i.png', 'cfg.py', 'w.pth', '--show'])  # no sentence
