"""Reading CLIP weights from a local OpenAI (TorchScript) or open_clip checkpoint file."""
import os.path as osp
from typing import Dict

from torch import Tensor

from mmris.utils.checkpoint import load_checkpoint_file
from mmris.utils.torchscript import is_torchscript_archive, load_torchscript_state_dict

# entries of OpenAI's files that are not weights of either tower (attn_mask: the causal mask,
# a buffer computed at build time that open_clip's traced CLIP models hold)
_NOT_TOWER = ('logit_scale', 'logit_bias', 'input_resolution', 'context_length', 'vocab_size',
              'attn_mask')


def load_clip_state_dict(path: str) -> Dict[str, Tensor]:
    """Load the state dict of a whole CLIP model from a local file; nothing is downloaded.

    OpenAI's released files are TorchScript archives: their tensors are read as data by
    :func:`~mmris.utils.torchscript.load_torchscript_state_dict` (the archive's code is never
    loaded; the keys are those of ``torch.jit.load(path).state_dict()``). Any other file is read
    by :func:`~mmris.utils.load_checkpoint_file` (``torch.load(weights_only=True)``); a
    ``state_dict`` / ``model`` wrapper and a ``module.`` prefix are removed.

    Args:
        path (str): The checkpoint file.

    Returns:
        dict[str, Tensor]: CLIP keys (``visual.*``, ``transformer.*``, ``token_embedding.*``, ...).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        UnsafeCheckpointError: If the file names a global that is not allowed.
        CheckpointReadError: If the file is empty, truncated or not a checkpoint.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'CLIP checkpoint not found: {path} (docs/pretrained.md: '
                                'where to download each CLIP file and where the configs '
                                'expect it)')
    if is_torchscript_archive(path):
        state = load_torchscript_state_dict(path)
    else:
        state = load_checkpoint_file(path, map_location='cpu')
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
