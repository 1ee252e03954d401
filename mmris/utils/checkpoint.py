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
load them with ``weights_only=False`` if, and only if, you trust their source.
"""
import collections
import copyreg
from typing import List

import numpy as np
import torch

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
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    _REGISTERED = True
