"""REFER split pickles are read as plain data: hostile files run nothing and are refused."""
import collections
import copyreg
import importlib.util
import os
import os.path as osp
import pickle
import struct
import sys

import numpy as np
import pytest

from mmris.datasets import ReferDataset, ReferFormatError, generate_toy_refer, load_refs
from mmris.utils.safe_pickle import UnsafePickleError, load_data_pickle
from .conftest import ref, write_refer

ROOT = osp.join(osp.dirname(__file__), '..', '..')
SYSTEM = f'{os.system.__module__}.system'  # posix.system on Linux


def _tool(name, path):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Touch:
    """Creates ``marker`` when unpickled by a plain ``pickle.load``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _Plain:
    pass


def _hostile_refs(marker):
    """A valid ref list whose second element runs the payload (and leaves no trace)."""
    return [ref(1, 1, 1, 'train', ['left square']), _Touch(marker)]


def test_payload_would_run_with_plain_pickle(tmp_path):
    """The fixture is really hostile: plain pickle creates the marker."""
    marker = tmp_path / 'plain'
    pickle.loads(pickle.dumps(_hostile_refs(marker)))
    assert marker.exists()


@pytest.mark.parametrize('protocol', [0, 2, pickle.HIGHEST_PROTOCOL])
def test_hostile_split_file_refused_by_dataset(tmp_path, protocol):
    marker = tmp_path / 'pwned'
    files = write_refer(tmp_path, [ref(1, 1, 1, 'train', ['x'])])
    split = osp.join(tmp_path, 'refs(unc).p')
    with open(split, 'wb') as f:
        pickle.dump(_hostile_refs(marker), f, protocol=protocol)
    with pytest.raises(ReferFormatError) as err:
        ReferDataset(**files, split='train')
    assert SYSTEM in str(err.value) and split in str(err.value)
    assert not marker.exists()


def test_hostile_split_file_refused_by_check_tool(tmp_path, monkeypatch, capsys):
    marker = tmp_path / 'pwned'
    split = str(tmp_path / 'evil.p')
    with open(split, 'wb') as f:
        pickle.dump(_hostile_refs(marker), f)
    tool = _tool('check_refer_dataset', 'tools/analysis_tools/check_refer_dataset.py')
    monkeypatch.setattr(sys, 'argv', ['check_refer_dataset.py', '--split-file', split])
    with pytest.raises(SystemExit) as exit_:
        tool.main()
    assert exit_.value.code not in (0, None)
    assert SYSTEM in str(exit_.value.code) and split in str(exit_.value.code)
    assert not marker.exists()


@pytest.mark.parametrize('payload,protocol,refused', [
    (copyreg._reconstructor, 4, 'copyreg._reconstructor'),
    (collections.Counter, 4, 'collections.Counter'),
    (np.int64(3), 4, 'multiarray.scalar'),  # numpy scalars: not plain data for a REFER file
    (eval, 4, 'builtins.eval'),
    (eval, 2, '__builtin__.eval'),  # protocol <= 2 names globals as Python 2 did
    (_Plain(), 0, 'copy_reg._reconstructor'),  # any object of a class, protocols 0/1
])
def test_only_plain_data_globals(payload, protocol, refused):
    with pytest.raises(UnsafePickleError, match=refused.replace('.', r'\.')) as err:
        load_data_pickle(pickle.dumps([payload], protocol=protocol))
    assert err.value.global_name.endswith(refused)


def test_allowed_containers():
    data = [{1, 2}, frozenset([3]), collections.OrderedDict(a=1), b'caf\xe9', (1, 2.5), None,
            True, 2**70, 'caf\u00e9']
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert load_data_pickle(pickle.dumps(data, protocol=protocol)) == data
    # _codecs.encode (bytes at protocol <= 2) only with latin1, not any codec the file names
    evil = b'\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.'
    with pytest.raises(pickle.UnpicklingError, match='latin1'):
        load_data_pickle(evil)


def _py2_dumps(obj, protocol):
    """Pickle as Python 2's cPickle does: ``bytes`` play Python 2 ``str`` (opcode S / U / T),
    ``str`` plays ``unicode``."""
    if isinstance(obj, dict):
        body = b''.join(_py2_dumps(k, protocol) + _py2_dumps(v, protocol) + b's'
                        for k, v in obj.items())
        return (b'}' if protocol else b'(d') + body
    if isinstance(obj, list):
        body = b''.join(_py2_dumps(v, protocol) + b'a' for v in obj)
        return (b']' if protocol else b'(l') + body
    if isinstance(obj, bool) or obj is None:
        raise TypeError(obj)
    if isinstance(obj, int):
        return b'J' + struct.pack('<i', obj) if protocol else b'I%d\n' % obj
    if isinstance(obj, bytes):
        if protocol == 0:
            return b'S' + repr(obj)[1:].encode('ascii') + b'\n'  # 'caf\xe9' as Python 2 writes
        if len(obj) < 256:
            return b'U' + bytes([len(obj)]) + obj
        return b'T' + struct.pack('<I', len(obj)) + obj
    if isinstance(obj, str):
        if protocol == 0:
            return b'V' + obj.encode('raw-unicode-escape') + b'\n'
        data = obj.encode('utf-8')
        return b'X' + struct.pack('<I', len(data)) + data
    raise TypeError(obj)


def _py2_ref(ref_id, split, raw):
    sent = {b'tokens': [b'man', raw.split()[-1]], b'raw': raw, b'sent_id': ref_id * 10,
            b'sent': raw}
    return {b'sent_ids': [ref_id * 10], b'file_name': b'COCO_train2014_000000000001_1.jpg',
            b'ann_id': 1, b'ref_id': ref_id, b'image_id': 1, b'split': split,
            b'sentences': [sent], b'category_id': 1}


@pytest.mark.parametrize('protocol', [0, 2])
def test_python2_pickle_with_non_ascii_loads(tmp_path, protocol):
    # Python 2 str keys and values (one with a latin-1 byte), one unicode sentence
    refs = [_py2_ref(1, b'train', b'man in caf\xe9 shirt'), _py2_ref(2, b'val', b'left man')]
    refs[1][b'sentences'][0][b'raw'] = 'na\u00efve man'
    data = b'\x80\x02' if protocol == 2 else b''
    data += _py2_dumps(refs, protocol) + b'.'
    split = tmp_path / 'refs(unc).p'
    split.write_bytes(data)
    loaded = load_refs(str(split))
    assert [r['ref_id'] for r in loaded] == [1, 2]
    assert loaded[0]['sentences'][0]['raw'] == 'man in caf\u00e9 shirt'
    assert loaded[0]['split'] == 'train' and loaded[1]['split'] == 'val'
    assert loaded[1]['sentences'][0]['raw'] == 'na\u00efve man'
    assert loaded[0]['file_name'] == 'COCO_train2014_000000000001_1.jpg'


def test_toy_and_benchmark_refs_load(tmp_path, monkeypatch):
    generate_toy_refer(str(tmp_path / 'toy'), seed=0, num_images=dict(train=2, val=1))
    refs = load_refs(str(tmp_path / 'toy' / 'toyref' / 'refs(unc).p'))
    assert refs and {r['split'] for r in refs} == {'train', 'val'}
    bench = _tool('benchmark_dataloading', 'tools/analysis_tools/benchmark_dataloading.py')
    for name, value in dict(NUM_IMAGES=4, NUM_ANNS=6, NUM_REFS=5, NUM_SENTS=9).items():
        monkeypatch.setattr(bench, name, value)
    bench.write_synthetic(str(tmp_path / 'bench'))
    refs = load_refs(str(tmp_path / 'bench' / 'refs(unc).p'))
    assert len(refs) == 5 and sum(len(r['sentences']) for r in refs) == 9
