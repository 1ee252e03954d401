"""Reading data pickles (REFER ``refs(*).p``) without running code from the file.

``pickle.load`` calls whatever callable a file names (``os.system`` through ``__reduce__``),
so a downloaded split file could run code when a dataset is built. :func:`load_data_pickle`
unpickles with :class:`DataUnpickler`, whose ``find_class`` refuses every global except the
few below. Plain dicts, lists, tuples, strings, bytes, numbers, booleans and ``None`` need no
global at all (they are pickle opcodes), in every protocol and in Python 2 pickles; that is all
the published ``refs(unc).p`` / ``refs(umd).p`` / ``refs(google).p`` / ``refs(berkeley).p``
files hold.

The globals that are allowed only build containers from data already unpickled, so they run no
code of the file's choosing:

- ``set`` / ``frozenset`` (``builtins`` or Python 2's ``__builtin__``): built from a list;
- ``collections.OrderedDict``: an empty dict filled item by item;
- ``_codecs.encode``: how Python 3 writes ``bytes`` at protocols 0-2; replaced by a function
  that only accepts ``'latin1'`` (the encoding pickle uses), not any codec the file names.

Anything else, ``copy_reg._reconstructor`` and numpy scalars included, raises
:class:`UnsafePickleError` naming the global.
"""
import collections
import io
import pickle
from typing import Any, Callable, Dict, Tuple

__all__ = ['DataUnpickler', 'UnsafePickleError', 'load_data_pickle', 'DATA_GLOBALS']


def _latin1_bytes(text: str, encoding: str = 'latin1') -> bytes:
    """``_codecs.encode`` as pickle uses it for ``bytes`` (protocol < 3), and nothing else."""
    if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError(
            f'_codecs.encode is only allowed as bytes in latin1 (got encoding {encoding!r})')
    return text.encode('latin1')


# (module, name) -> the object; Python 2 module names included (find_class sees them raw)
DATA_GLOBALS: Dict[Tuple[str, str], Callable] = {
    **{(mod, name): obj for mod in ('builtins', '__builtin__')
       for name, obj in (('set', set), ('frozenset', frozenset))},
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('_codecs', 'encode'): _latin1_bytes,
}


class UnsafePickleError(pickle.UnpicklingError):
    """A data pickle names a global that is not plain data (it could run code).

    Args:
        global_name (str): The refused global, ``module.name``.
    """

    def __init__(self, global_name: str) -> None:
        self.global_name = global_name
        super().__init__(
            f'refused global {global_name}: a data file may only hold dicts, lists, tuples, '
            f'strings, numbers and sets; unpickling {global_name} could run code')


class DataUnpickler(pickle.Unpickler):
    """An unpickler that only builds plain data (see the module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        obj = DATA_GLOBALS.get((module, name))
        if obj is None:
            raise UnsafePickleError(f'{module}.{name}')
        return obj


def load_data_pickle(data: bytes) -> Any:
    """Unpickle plain data; Python 2 pickles with non-ASCII ``str`` are read as latin1.

    Args:
        data (bytes): The pickle's bytes.

    Returns:
        The object.

    Raises:
        UnsafePickleError: If the pickle names a global that is not allowed.
        pickle.UnpicklingError, EOFError, ...: If it is not a valid pickle.
    """
    try:
        return DataUnpickler(io.BytesIO(data)).load()
    except UnicodeDecodeError:  # a Python 2 pickle with non-ASCII text
        return DataUnpickler(io.BytesIO(data), encoding='latin1').load()
