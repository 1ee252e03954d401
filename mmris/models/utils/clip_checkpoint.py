"""Reading CLIP weights from a local OpenAI (TorchScript) or open_clip checkpoint file."""
import os.path as osp
import zipfile
from typing import Dict

import torch
from torch import Tensor

# entries of OpenAI's files that are not weights of either tower
_NOT_TOWER = ('logit_scale', 'logit_bias', 'input_resolution', 'context_length', 'vocab_size')


def _is_torchscript(path: str) -> bool:
    """A TorchScript archive is a zip holding ``constants.pkl`` and a ``code/`` folder."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith('constants.pkl') or '/code/' in n for n in z.namelist())


def load_clip_state_dict(path: str) -> Dict[str, Tensor]:
    """Load the state dict of a whole CLIP model from a local file; nothing is downloaded.

    OpenAI's released files are TorchScript archives: only those are opened with
    ``torch.jit.load(map_location='cpu')``. Any other file is read with
    ``torch.load(weights_only=True)``; a ``state_dict`` / ``model`` wrapper and a
    ``module.`` prefix are removed.

    Args:
        path (str): The checkpoint file.

    Returns:
        dict[str, Tensor]: CLIP keys (``visual.*``, ``transformer.*``, ``token_embedding.*``, ...).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'CLIP checkpoint not found: {path} (docs/pretrained.md: '
                                'where to download each CLIP file and where the configs '
                                'expect it)')
    if _is_torchscript(path):
        state = torch.jit.load(path, map_location='cpu').state_dict()
    else:
        state = torch.load(path, map_location='cpu', weights_only=True)
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def image_tower_state(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The ``visual.*`` entries of a CLIP state dict, prefix removed."""
    return {k[len('visual.'):]: v for k, v in state.items() if k.startswith('visual.')}


def text_tower_state(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The text-tower entries of a CLIP state dict (``text.*`` of open_clip's custom-text
    models, or the top-level ones of ``CLIP``), prefixes removed."""
    if any(k.startswith('text.') for k in state):
        return {k[len('text.'):]: v for k, v in state.items() if k.startswith('text.')}
    return {k: v for k, v in state.items()
            if not k.startswith('visual.') and k not in _NOT_TOWER}
