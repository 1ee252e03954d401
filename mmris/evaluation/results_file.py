"""The per-sentence results file of ``tools/test.py --out`` (format ``mmris-ris-results``).

JSON lines, gzip-compressed when the name ends with ``.gz``: a header record, then one record
per test sentence. Reading it runs no code from the file (plain ``json``; no pickle).
The format is documented in docs/train_test.md ("Results file").

Header (first line)::

    {"format": "mmris-ris-results", "version": 1, "num_records": 10834,
     "metrics": {"oIoU": ..., "mIoU": ..., "Prec@0.5": ...}, "config": ..., "checkpoint": ...,
     "mask": "coco_rle", "logits": null, ...}

Record (every other line)::

    {"image_id": 1, "ref_id": 3, "sent_id": 7, "ann_id": 12, "file_name": "x.jpg",
     "sentence": "the man on the left", "intersection": 3310, "union": 4012,
     "mask": {"size": [480, 640], "counts": "<COCO compressed RLE>"}}

``logits`` (only with ``--out-logits``): ``{"shape": [h, w], "dtype": "float16",
"encoding": "zlib+base64", "data": ...}``, the raw (pre-sigmoid) logits at the mask's size.
"""
import base64
import gzip
import io
import json
import os
import os.path as osp
import zlib
from typing import Any, Dict, Iterable, List, Tuple

import numpy as np
from pycocotools import mask as mask_utils

__all__ = ['RESULTS_FORMAT', 'RESULTS_VERSION', 'encode_mask', 'decode_mask',
           'encode_logits', 'decode_logits', 'write_results', 'load_results']

RESULTS_FORMAT = 'mmris-ris-results'
RESULTS_VERSION = 1
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def encode_mask(mask: np.ndarray) -> Dict[str, Any]:
    """A binary H x W mask as COCO compressed RLE with ``counts`` as a str (JSON-safe).

    Args:
        mask (np.ndarray): H x W, nonzero = foreground.

    Returns:
        dict: ``size`` [H, W] and ``counts``.
    """
    if mask.ndim != 2:
        raise ValueError(f'encode_mask: expected an H x W mask, got shape {mask.shape}')
    rle = mask_utils.encode(np.asfortranarray(mask != 0, dtype=np.uint8))
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def decode_mask(rle: Dict[str, Any]) -> np.ndarray:
    """COCO RLE (``counts`` str or bytes) -> H x W uint8 {0, 1} mask."""
    counts = rle['counts']
    counts = counts.encode('ascii') if isinstance(counts, str) else counts
    return mask_utils.decode(dict(size=list(rle['size']), counts=counts))


def encode_logits(logits: np.ndarray) -> Dict[str, Any]:
    """H x W float logits as float16 (clipped to its range), C order, zlib + base64."""
    arr = np.clip(np.asarray(logits, np.float32), -_FLOAT16_MAX, _FLOAT16_MAX)
    arr = np.ascontiguousarray(arr.astype('<f2'))
    return dict(shape=list(arr.shape), dtype='float16', encoding='zlib+base64',
                data=base64.b64encode(zlib.compress(arr.tobytes(), 6)).decode('ascii'))


def decode_logits(field: Dict[str, Any]) -> np.ndarray:
    """The ``logits`` field of a record -> float16 array of ``shape``."""
    if field.get('dtype') != 'float16' or field.get('encoding') != 'zlib+base64':
        raise ValueError(f'unknown logits encoding {field.get("dtype")!r} / '
                         f'{field.get("encoding")!r}')
    raw = zlib.decompress(base64.b64decode(field['data']))
    return np.frombuffer(raw, '<f2').reshape(field['shape'])


_decode_logits = decode_logits  # load_results' argument of the same name hides it


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple, set)):
        return list(value.tolist() if isinstance(value, np.ndarray) else value)
    raise TypeError(f'not JSON serializable: {type(value).__name__}')


def _dumps(record: dict) -> str:
    return json.dumps(record, separators=(',', ':'), ensure_ascii=False,
                      default=_json_default)


def write_results(path: str, header: Dict[str, Any], records: Iterable[dict]) -> int:
    """Write the header and the records as JSON lines (gzip when ``path`` ends with
    ``.gz``), through a temporary file renamed at the end.

    Returns:
        int: The file's size in bytes.
    """
    header = dict(format=RESULTS_FORMAT, version=RESULTS_VERSION, **header)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + '.part'
    try:
        with open(tmp, 'wb') as raw:
            stream = gzip.GzipFile(fileobj=raw, mode='wb', mtime=0) \
                if path.endswith('.gz') else raw
            with io.TextIOWrapper(stream, encoding='utf-8', newline='\n') as f:
                f.write(_dumps(header) + '\n')
                for record in records:
                    f.write(_dumps(record) + '\n')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return osp.getsize(path)


def load_results(path: str,
                 decode_masks: bool = False,
                 decode_logits: bool = False) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Read a results file of ``tools/test.py --out``.

    Args:
        path (str): The file (``.jsonl`` or gzip-compressed ``.jsonl.gz``; the compression
            is recognised from the content).
        decode_masks (bool): Add ``mask_array`` (H x W uint8 {0, 1}) to every record.
            Defaults to False (decode one with :func:`decode_mask` ``(record['mask'])``).
        decode_logits (bool): Replace ``logits`` (when stored) by the float16 H x W array.
            Defaults to False (``decode_logits(record['logits'])``, the function).

    Returns:
        tuple[dict, list[dict]]: The header and the records, in the order of the test set.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Not a results file of this format or of a later version; a line that
            is not JSON (naming the line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'no such results file: {path!r}')
    with open(path, 'rb') as f:
        gz = f.read(2) == b'\x1f\x8b'
    opener = gzip.open if gz else open
    header, records = None, []
    with opener(path, 'rb') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode('utf-8'))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ValueError(f'{path}: line {number} is not JSON ({e}); is this a '
                                 'results file of tools/test.py --out?') from e
            if header is None:
                if not isinstance(record, dict) or record.get('format') != RESULTS_FORMAT:
                    raise ValueError(f'{path}: not an {RESULTS_FORMAT} file (the first line '
                                     f'has no "format": "{RESULTS_FORMAT}")')
                if int(record.get('version', 0)) > RESULTS_VERSION:
                    raise ValueError(f'{path}: format version {record["version"]}; this '
                                     f'mmris reads up to {RESULTS_VERSION}')
                header = record
                continue
            if decode_masks:
                record['mask_array'] = decode_mask(record['mask'])
            if decode_logits and record.get('logits') is not None:
                record['logits'] = _decode_logits(record['logits'])
            records.append(record)
    if header is None:
        raise ValueError(f'{path}: empty results file')
    if header.get('num_records') is not None and header['num_records'] != len(records):
        raise ValueError(f'{path}: the header announces {header["num_records"]} records but '
                         f'the file holds {len(records)} (a truncated file?)')
    return header, records
