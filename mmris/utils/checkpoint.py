"""Safe checkpoint loading on torch >= 2.6.

torch >= 2.6 loads checkpoints with ``weights_only=True``, which refuses every class that is not
on its allow-list. mmengine 0.10.7 stores its ``MessageHub`` (``HistoryBuffer`` objects holding
numpy arrays), numpy scalars and a ``collections.Counter`` (``MultiStepLR`` milestones) in the
checkpoints it saves, so resuming its own checkpoints fails. Rather than switching the protection
off for every load (``weights_only=False`` or ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``), we allow-list
exactly those classes: they are plain data containers whose unpickling runs no code of the
checkpoint's choosing.

One more thing stands in the way: ``HistoryBuffer.__getstate__`` pickles its registry of
statistics *functions*, which unpickle through ``builtins.getattr``. Allowing ``getattr`` would
let a checkpoint reach any attribute of an allowed object (``ndarray.tofile`` writes files), so
instead we register a ``copyreg`` reducer that saves a ``HistoryBuffer`` as its data only
(``HistoryBuffer(log_history, count_history, max_length)``). The statistics methods live on the
class and are registered again at import, so nothing is lost. Checkpoints saved by mmengine
without mmris loaded still carry the functions and are refused; re-save them under mmris, or
load them with ``weights_only=False`` if, and only if, you trust their source:
``tools/misc/resave_checkpoint.py SRC DST --trust-source`` does that once and writes a copy that
loads with ``weights_only=True``.

Every local checkpoint mmris reads goes through :func:`load_checkpoint_file`
(``torch.load(weights_only=True)``): :func:`register_safe_globals` also installs it as
mmengine's loader for local paths (``CheckpointLoader``), so ``tools/test.py``, ``load_from``,
``--resume``, the inferencer and ``pretrained`` files all get its errors: a refused global
raises :class:`UnsafeCheckpointError` (what was refused, why, and how to re-save a trusted
file), an empty or truncated file raises :class:`CheckpointReadError` naming the file.
"""
import collections
import contextlib
import copyreg
import os
import os.path as osp
import pickle
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch

RESAVE_TOOL = 'tools/misc/resave_checkpoint.py'

_REGISTERED = False


def mmengine_safe_globals() -> List:
    """The classes and functions mmengine's own checkpoints need to unpickle.

    Returns:
        list: objects to pass to ``torch.serialization.add_safe_globals``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.bool_)]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype,
            collections.Counter, collections.defaultdict, *dtype_classes]


def _reduce_history_buffer(buffer) -> tuple:
    """Pickle a ``HistoryBuffer`` as a constructor call on its data (no functions)."""
    return (type(buffer), (buffer._log_history, buffer._count_history, buffer.max_length))


def register_safe_globals() -> None:
    """Allow-list :func:`mmengine_safe_globals` for ``torch.load(weights_only=True)`` and make
    ``HistoryBuffer`` pickle as plain data.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.runner import CheckpointLoader
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    _REGISTERED = True


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint names globals that ``torch.load(weights_only=True)`` refuses.

    Args:
        filename (str): The file.
        refused (list[str]): The refused globals, ``module.name``.
        detail (str, optional): What to do instead of the default advice (re-save the file
            with ``tools/misc/resave_checkpoint.py --trust-source`` if it is trusted).
    """

    def __init__(self, filename: str, refused: Sequence[str],
                 detail: Optional[str] = None) -> None:
        self.filename, self.refused = filename, list(refused)
        names = ', '.join(self.refused)
        hint = ''
        if 'builtins.getattr' in self.refused:
            hint = (' (builtins.getattr is how mmengine pickles the statistics functions of its '
                    'HistoryBuffer when mmris is not imported: a checkpoint saved by plain '
                    'mmengine; allowing getattr would let a file reach any attribute of an '
                    'allowed object, e.g. ndarray.tofile, which writes files)')
        if detail is None:
            detail = (f'If, and only if, you trust where the file comes from, re-save it as '
                      f'data once: python {RESAVE_TOOL} {filename} NEW.pth --trust-source')
        super().__init__(
            f'{filename}: refused to load the global(s) {names}{hint}. mmris loads every '
            f'checkpoint with torch.load(weights_only=True), which allows only plain-data '
            f'classes: unpickling {names} could run code chosen by the file, so do not '
            f'allow-list it (add_safe_globals) or set weights_only=False. {detail}')


class CheckpointReadError(RuntimeError):
    """A checkpoint file that is empty, truncated or not a ``torch.save`` file."""


def _refused_globals(filename: str, error: Exception) -> List[str]:
    """The globals torch refused, from the file (zip checkpoints) or torch's message."""
    names: List[str] = []
    with contextlib.suppress(Exception):
        names = list(torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    if not names:
        names = re.findall(r'GLOBAL (\S+?) (?:was not an allowed|whose module)', str(error))
        names = [n if '.' in n else f'builtins.{n}' for n in names]
    return sorted(set(names))


def _check_file(filename: str) -> int:
    """The file's size; FileNotFoundError / CheckpointReadError if missing or empty."""
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    size = osp.getsize(filename)
    if size == 0:
        raise CheckpointReadError(f'{filename}: empty file (0 bytes), not a checkpoint; was '
                                  f'the download or the save interrupted?')
    return size


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         safe_globals: Iterable = ()) -> Any:
    """``torch.load(filename, weights_only=True)`` with errors that name the file.

    Args:
        filename (str): A local checkpoint.
        map_location: As for :func:`torch.load`.
        safe_globals (Iterable): Classes allowed for this load only (on top of
            :func:`mmengine_safe_globals`), e.g. ``[argparse.Namespace]`` for LAVT's files.

    Returns:
        The loaded object.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafeCheckpointError: If the file names a global that is not allowed.
        CheckpointReadError: If the file is empty, truncated or not a checkpoint.
    """
    filename = osp.expanduser(filename)
    size = _check_file(filename)
    refused: List[str] = []
    try:
        with torch.serialization.safe_globals(list(safe_globals)):
            try:
                return torch.load(filename, map_location=map_location, weights_only=True)
            except pickle.UnpicklingError as e:
                refused = _refused_globals(filename, e)  # inside: safe_globals are allowed
                raise
    except pickle.UnpicklingError as e:
        if refused:
            raise UnsafeCheckpointError(filename, refused) from None
        raise CheckpointReadError(f'{filename} ({size} bytes) is not a readable checkpoint: '
                                  f'{_torch_reason(e)}') from e
    except (EOFError, RuntimeError) as e:
        text = str(e)
        if isinstance(e, RuntimeError) and not any(
                s in text for s in ('PytorchStreamReader', 'zip archive', 'file is corrupted')):
            raise
        raise CheckpointReadError(
            f'{filename} ({size} bytes) is truncated or not a torch.save file: '
            f'{type(e).__name__}: {text or "unexpected end of file"}') from e


def _torch_reason(error: Exception) -> str:
    """The useful line of torch's weights_only message."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(('Weights only load failed', 'Check the'))
              and 'file an issue' not in ln]
    return useful[0] if useful else (lines[0] if lines else type(error).__name__)


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's local-file ``CheckpointLoader`` scheme, through :func:`load_checkpoint_file`.

    Args:
        filename (str): Local checkpoint path.
        map_location: As for :func:`torch.load`.

    Returns:
        The loaded checkpoint.
    """
    return load_checkpoint_file(filename, map_location=map_location)


def resave_trusted_checkpoint(src: str, dst: str, drop: Sequence[str] = ()) -> List[str]:
    """Load a TRUSTED checkpoint with ``weights_only=False`` and save it as plain data.

    Runs any code the file holds: call it only for files whose source you trust. The copy keeps
    every top-level key except ``drop`` (``HistoryBuffer`` re-pickled as data, see the module
    docstring) and is checked to load with ``weights_only=True``; if it does not, it is deleted
    and :class:`UnsafeCheckpointError` names the globals and the top-level keys holding them.

    Args:
        src (str): The trusted checkpoint.
        dst (str): Where to write the copy.
        drop (Sequence[str]): Top-level keys to leave out.

    Returns:
        list[str]: The top-level keys written.
    """
    register_safe_globals()
    _check_file(src)
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    if not isinstance(checkpoint, dict):
        raise CheckpointReadError(f'{src}: expected a dict checkpoint, got '
                                  f'{type(checkpoint).__name__}')
    unknown = sorted(set(drop) - set(checkpoint))
    if unknown:
        raise KeyError(f'{src}: --drop names keys the checkpoint does not have: {unknown}; it '
                       f'has {sorted(checkpoint)}')
    checkpoint = {k: v for k, v in checkpoint.items() if k not in drop}
    torch.save(checkpoint, dst)
    try:
        load_checkpoint_file(dst, map_location='cpu')
    except UnsafeCheckpointError as e:
        os.remove(dst)
        keys = [k for k in checkpoint if _key_refused(checkpoint[k])]
        raise UnsafeCheckpointError(
            src, e.refused,
            detail=f'They are still there after re-saving, under the top-level keys {keys}: '
            f'leave those out with --drop KEY if the model does not need them. Nothing was '
            f'written to {dst}.') from None
    return list(checkpoint)


def _key_refused(value: Any) -> bool:
    """Whether ``torch.save(value)`` holds a global weights_only refuses."""
    import io
    buf = io.BytesIO()
    torch.save(value, buf)
    buf.seek(0)
    return bool(torch.serialization.get_unsafe_globals_in_checkpoint(buf))


class ConverterInputError(ValueError):
    """A file given to a model converter lacks a part of the released layout."""


def require_parts(converted: Dict[str, Any], expected: Dict[str, str], filename: str,
                  what: str, top_level: Sequence[str]) -> None:
    """Check that a converter found every part of the model in the file.

    The threshold: each part (image backbone, text encoder, decoder) must bring at least one
    tensor; a part with too few tensors is then caught by the strict load into the config.

    Args:
        converted (dict): The converted (mmris) state dict, or the file's own keys.
        expected (dict): Description of the part in the source file -> key prefix in
            ``converted``.
        filename (str): The source file, for the message.
        what (str): The source format, e.g. ``'LAVT'``.
        top_level (Sequence[str]): The file's top-level keys, for the message.

    Raises:
        ConverterInputError: Naming the file, the missing parts and the expected prefixes.
    """
    missing = [src for src, dst in expected.items()
               if not any(k.startswith(dst) for k in converted)]
    if missing:
        raise ConverterInputError(
            f'{filename} is not a released {what} checkpoint: no weights for '
            f'{", ".join(missing)} (expected keys: {"; ".join(expected)}). It has '
            f'{len(converted)} usable weight keys in all, and the top-level keys '
            f'{sorted(map(str, top_level))[:20]}. Nothing was written.')
