"""Reading the tensors of a TorchScript archive as data, without loading its code.

``torch.jit.load`` compiles the archive's ``code/`` (TorchScript that the file chose) and
unpickles its ``data.pkl`` with torch's full unpickler. OpenAI's released CLIP files
(``RN50.pt``, ``ViT-B-16.pt``, ...) are such archives (``torch.jit.trace`` + ``save``), and all
mmris needs from them is the state dict. :func:`load_torchscript_state_dict` reads it as data:

- ``<root>/data.pkl`` is unpickled by :class:`TorchScriptUnpickler`, a
  :class:`~mmris.utils.safe_pickle.DataUnpickler` that also allows, and only allows:
  ``__torch__.*`` classes (the archive's modules: they become :class:`ScriptObject`, a plain
  holder of the pickled attribute dict; nothing of the class is looked up or run), the typed
  storage classes (``torch.FloatStorage``, ``torch.HalfStorage``, ...: mapped to dtypes),
  ``torch._utils._rebuild_tensor_v2`` (replaced by a function that makes a strided view of a
  storage read from the archive) and the ``torch.jit._pickle`` list builders (identity).
  Anything else raises :class:`~mmris.utils.checkpoint.UnsafeCheckpointError` naming the file
  and the global.
- Storages (persistent ids ``('storage', type, key, location, numel)``) are the bytes of
  ``<root>/data/<key>``, always put on the CPU.
- Which attributes of a module are parameters and buffers is declared in the archive's code
  as ``__parameters__ = [...]`` / ``__buffers__ = [...]`` lines of each class: those lines are
  read as text (never compiled or run), so the keys are exactly those of
  ``torch.jit.load(path).state_dict()``. A class without a ``__buffers__`` line (older
  archives) has its other tensor attributes as buffers.
"""
import io
import re
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .checkpoint import CheckpointReadError, UnsafeCheckpointError
from .safe_pickle import DataUnpickler, UnsafePickleError

__all__ = ['ScriptObject', 'TorchScriptUnpickler', 'is_torchscript_archive',
           'load_torchscript_state_dict']

_DTYPES = {
    'FloatStorage': torch.float32, 'HalfStorage': torch.float16,
    'BFloat16Storage': torch.bfloat16, 'DoubleStorage': torch.float64,
    'LongStorage': torch.int64, 'IntStorage': torch.int32, 'ShortStorage': torch.int16,
    'CharStorage': torch.int8, 'ByteStorage': torch.uint8, 'BoolStorage': torch.bool,
}

_UNSAFE_DETAIL = (
    'This is a TorchScript archive (the format of OpenAI\'s CLIP files): mmris never loads its '
    'code and reads its data.pkl allowing only the archive\'s module objects, tensors and their '
    'storages. A released OpenAI CLIP file holds nothing else: this one was altered or is not '
    'one; download it again (docs/pretrained.md).')


class ScriptObject:
    """What a ``__torch__.*`` object of the archive becomes: its class name and pickled state.

    Attributes:
        qualified_name (str): ``module.Name`` as the pickle names the class.
        state: The pickled state (an attribute dict for modules).
    """
    qualified_name = ''

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _StorageType:
    """A typed storage class named by the pickle: only its dtype."""

    def __init__(self, name: str, dtype: torch.dtype) -> None:
        self.name, self.dtype = name, dtype


def _rebuild_tensor_v2(storage: Tensor, offset: int, size: Tuple[int, ...],
                       stride: Tuple[int, ...], requires_grad: bool = False,
                       hooks: Any = None, metadata: Any = None) -> Tensor:
    """A strided view of a storage (``torch._utils._rebuild_tensor_v2``'s data, no hooks)."""
    if not isinstance(storage, Tensor) or hooks or metadata:
        raise ValueError('_rebuild_tensor_v2 with no storage from the archive, backward hooks '
                         'or metadata')
    if not all(isinstance(v, int) for v in (offset, *size, *stride)):
        raise ValueError(f'_rebuild_tensor_v2: size {size}, stride {stride}, offset {offset}')
    return torch.as_strided(storage, tuple(size), tuple(stride), offset)


def _identity(value: Any, *args: Any) -> Any:
    """``torch.jit._pickle``'s list builders and type tags: the value as it is."""
    return value


_TORCH_GLOBALS: Dict[Tuple[str, str], Callable] = {
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
    **{('torch.jit._pickle', name): _identity for name in (
        'build_intlist', 'build_floatlist', 'build_doublelist', 'build_boollist',
        'build_tensorlist', 'restore_type_tag')},
}


class TorchScriptUnpickler(DataUnpickler):
    """:class:`DataUnpickler` plus what a TorchScript ``data.pkl`` holds (module docstring).

    Args:
        file: The pickle stream.
        read_storage (Callable): ``(key, dtype, numel) -> Tensor`` for a persistent storage id.
    """

    def __init__(self, file: Any, read_storage: Callable[[str, torch.dtype, int], Tensor]):
        super().__init__(file)
        self._read_storage = read_storage
        self._classes: Dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith('__torch__.') or module == '__torch__':
            qualified = f'{module}.{name}'
            if qualified not in self._classes:
                self._classes[qualified] = type(name, (ScriptObject, ),
                                                {'qualified_name': qualified})
            return self._classes[qualified]
        if module == 'torch' and name in _DTYPES:
            return _StorageType(name, _DTYPES[name])
        if (module, name) in _TORCH_GLOBALS:
            return _TORCH_GLOBALS[module, name]
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Tensor:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == 'storage'
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[4], int)):
            raise ValueError(f'unknown persistent id {pid!r:.200}')
        return self._read_storage(pid[2], pid[1].dtype, pid[4])


def _archive_root(names: List[str]) -> Optional[str]:
    """The archive's top folder if it holds ``<root>/data.pkl`` and ``<root>/code/``."""
    roots = {n[:-len('/data.pkl')] for n in names if n.endswith('/data.pkl')
             and n.count('/') == 1}
    roots = {r for r in roots if any(n.startswith(f'{r}/code/') for n in names)}
    return roots.pop() if len(roots) == 1 else None


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a zip with a ``code/`` folder or ``constants.pkl`` (TorchScript's
    layout; ``torch.save`` files have neither)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith('/constants.pkl') or '/code/' in n for n in z.namelist())


_DECL = re.compile(r'^class (\w+)\((\w+)\):\n(?:  __parameters__ = \[(.*)\]\n'
                   r'(?:  __buffers__ = \[(.*)\]\n)?)?', re.M)


class _Declarations:
    """``__parameters__`` / ``__buffers__`` of the archive's classes, read from its code text."""

    def __init__(self, z: zipfile.ZipFile, root: str, path: str) -> None:
        self.z, self.root, self.path = z, root, path
        self._files: Dict[str, Dict[str, Tuple[str, Optional[List[str]], bool]]] = {}

    def get(self, qualified: str) -> Tuple[str, List[str], bool]:
        """(base class, parameter and buffer names, whether a ``__buffers__`` line was there)
        of the class ``__torch__.a.b.Name``."""
        module, _, name = qualified.rpartition('.')
        member = f'{self.root}/code/{module.replace(".", "/")}.py'
        if member not in self._files:
            try:
                text = self.z.read(member).decode('utf-8')
            except (KeyError, UnicodeDecodeError) as e:
                raise CheckpointReadError(
                    f'{self.path}: the TorchScript archive has no readable {member} declaring '
                    f'the class {qualified} ({type(e).__name__})') from None
            classes = {}
            for m in _DECL.finditer(text):
                names = None if m.group(3) is None else re.findall(
                    r'"([^"]*)"', f'{m.group(3)},{m.group(4) or ""}')
                classes[m.group(1)] = (m.group(2), names, m.group(4) is not None)
            self._files[member] = classes
        base, names, has_buffers = self._files[member].get(name, ('', None, False))
        if not base or (base == 'Module' and names is None):
            raise CheckpointReadError(
                f'{self.path}: {member} does not declare the class {qualified}'
                + (' with its __parameters__' if base else ''))
        return base, names or [], has_buffers


def _collect(obj: ScriptObject, prefix: str, decl: _Declarations, path: str,
             out: Dict[str, Tensor]) -> None:
    """Add the parameters and buffers of module ``obj`` and of its submodules to ``out``."""
    state = getattr(obj, 'state', None)
    base, names, has_buffers = decl.get(obj.qualified_name)
    if base != 'Module' or not isinstance(state, dict):
        raise CheckpointReadError(f'{path}: {prefix or "the root object "}'
                                  f'({obj.qualified_name}) is not a module with attributes')
    if not has_buffers:  # older archives: the other tensor attributes are the buffers
        names = names + [k for k, v in state.items() if isinstance(v, Tensor) and k not in names]
    for name in names:
        value = state.get(name)
        if value is not None:  # an optional parameter set to None (e.g. bias=False)
            if not isinstance(value, Tensor):
                raise CheckpointReadError(f'{path}: {prefix}{name} is declared a parameter or '
                                          f'buffer but holds {type(value).__name__}')
            out[prefix + name] = value
    for name, value in state.items():
        if isinstance(value, ScriptObject) and decl.get(value.qualified_name)[0] == 'Module':
            _collect(value, f'{prefix}{name}.', decl, path, out)


def load_torchscript_state_dict(path: str) -> Dict[str, Tensor]:
    """The state dict of a TorchScript archive, read as data (see the module docstring).

    Args:
        path (str): The archive (e.g. OpenAI's ``RN50.pt``).

    Returns:
        OrderedDict[str, Tensor]: The keys and tensors of ``torch.jit.load(path).state_dict()``
        (on the CPU).

    Raises:
        UnsafeCheckpointError: If ``data.pkl`` names a global that is not allowed.
        CheckpointReadError: If the file is not a TorchScript archive or a part is missing or
            malformed.
    """
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise CheckpointReadError(f'{path} is not a TorchScript archive (not a readable zip: '
                                  f'{e})') from None
    with z:
        names = z.namelist()
        root = _archive_root(names)
        if root is None:
            raise CheckpointReadError(
                f'{path} is not a TorchScript archive: expected one top folder holding '
                f'data.pkl and code/, found {names[:8]}{" ..." if len(names) > 8 else ""}')
        order = z.read(f'{root}/byteorder') if f'{root}/byteorder' in names else b'little'
        if order.strip() != b'little':
            raise CheckpointReadError(f'{path}: byte order {order!r} is not supported')
        storages: Dict[str, Tensor] = {}

        def read_storage(key: str, dtype: torch.dtype, numel: int) -> Tensor:
            if key not in storages:
                member = f'{root}/data/{key}'
                if member not in names:
                    raise CheckpointReadError(f'{path}: storage {member} is missing')
                data = bytearray(z.read(member))
                size = numel * torch.empty(0, dtype=dtype).element_size()
                if len(data) != size:
                    raise CheckpointReadError(f'{path}: storage {member} has {len(data)} '
                                              f'bytes, {size} expected ({numel} x {dtype})')
                storages[key] = torch.frombuffer(data, dtype=dtype) if data else \
                    torch.empty(0, dtype=dtype)
            return storages[key]

        try:
            obj = TorchScriptUnpickler(io.BytesIO(z.read(f'{root}/data.pkl')),
                                       read_storage).load()
        except UnsafePickleError as e:
            raise UnsafeCheckpointError(path, [e.global_name], detail=_UNSAFE_DETAIL) from None
        except CheckpointReadError:
            raise
        except Exception as e:  # truncated / malformed pickle or tensor record
            raise CheckpointReadError(f'{path}: {root}/data.pkl is not a readable TorchScript '
                                      f'module pickle: {type(e).__name__}: {e}') from None
        if not isinstance(obj, ScriptObject):
            raise CheckpointReadError(f'{path}: {root}/data.pkl holds a '
                                      f'{type(obj).__name__}, not a TorchScript module')
        out: Dict[str, Tensor] = OrderedDict()
        _collect(obj, '', _Declarations(z, root, path), path, out)
    return out
