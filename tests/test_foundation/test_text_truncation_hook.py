"""TextTruncationHook in the real mmengine Runner: the tiny CRIS on a few toy images with a
text encoder too short for most sentences; the log says how many were cut, once per run."""
import glob
import os.path as osp
import re

from mmengine.config import Config
from mmengine.runner import Runner

from mmris.datasets.toy import generate_toy_refer
from mmris.registry import DATASETS
from mmris.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-10e_toy-128.py')
WORD_LEN = 6


def _cfg(data_root, work_dir):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.model.text_encoder.word_len = WORD_LEN
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root
    return cfg


def _needed(cfg, split):
    """Tokens each sentence of a split needs (SOT and EOT included), from the dataset."""
    from open_clip.tokenizer import SimpleTokenizer
    tok = SimpleTokenizer()
    ds = DATASETS.build(dict(cfg[f'{split}_dataloader'].dataset, pipeline=[]))
    texts = [' '.join(ds.get_data_info(i)['text'].lower().split()) for i in range(len(ds))]
    return [len(tok.encode(t)) + 2 for t in texts]


def _lines(work_dir):
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    text = ''.join(open(p).read() for p in logs)
    return re.findall(r'TextTruncationHook: (\w+): (\d+) of (\d+) sentence encodings were '
                      rf'longer than word_len={WORD_LEN} tokens and were cut'
                      r'(?:; the longest needed (\d+) tokens)?', text)


def test_cut_sentences_logged_once_per_run(tmp_path):
    register_all_modules()
    data_root = str(tmp_path / 'toy')
    generate_toy_refer(data_root, num_images=dict(train=2, val=2, testA=2, testB=1))
    cfg = _cfg(data_root, str(tmp_path / 'work'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    lines = _lines(cfg.work_dir)
    assert [line[0] for line in lines] == ['train', 'val']
    val = _needed(cfg, 'val')
    cut = [n for n in val if n > WORD_LEN]
    assert cut, 'the toy sentences should need more than WORD_LEN tokens'
    assert lines[1][1:] == (str(len(cut)), str(len(val)), str(max(cut)))
    train = lines[0]
    assert int(train[2]) == len(runner.train_dataloader.dataset)  # one epoch, one per ref
    assert 0 < int(train[1]) <= int(train[2])

    runner.test()
    lines = _lines(cfg.work_dir)
    test = _needed(cfg, 'test')
    assert [line[0] for line in lines] == ['train', 'val', 'test']
    cut = [n for n in test if n > WORD_LEN]
    assert lines[2][1:3] == (str(len(cut)), str(len(test)))
