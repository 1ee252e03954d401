"""Comparing a checkpoint's weights with a model's, and loading them only when they fit.

One place for the rule "a checkpoint that does not fit the model is an error that names the
keys": used by ``tools/test.py`` / ``tools/train.py`` (``load_from``, ``--resume``, through
:class:`mmris.engine.RISRunner`), by :class:`mmris.apis.RISInferencer`, and by the pretrained
towers (:func:`mmris.models.utils.load_pretrained`).
"""
import re
from collections import OrderedDict
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import torch.nn as nn

__all__ = [
    'CheckpointMismatchError', 'compare_state_dicts', 'some_keys', 'mismatch_message',
    'load_model_state'
]


class CheckpointMismatchError(ValueError):
    """The checkpoint's weights do not fit the model (the one the config builds, or a
    pretrained part of it)."""


def compare_state_dicts(own: Mapping[str, Any],
                        state: Mapping[str, Any]) -> Tuple[List[str], List[str], List[str]]:
    """Keys of the model missing from ``state``, keys of ``state`` the model does not have,
    and ``'key: checkpoint (shape), model (shape)'`` for the common keys whose shapes differ.

    Args:
        own (Mapping): The model's state dict.
        state (Mapping): The checkpoint's.

    Returns:
        tuple[list[str], list[str], list[str]]: missing, unexpected, shape mismatches, sorted.
    """
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(f'{k}: checkpoint {tuple(state[k].shape)}, model {tuple(own[k].shape)}'
                    for k in set(own) & set(state)
                    if hasattr(state[k], 'shape') and hasattr(own[k], 'shape')
                    and tuple(state[k].shape) != tuple(own[k].shape))
    return missing, unexpected, shapes


def some_keys(keys: Sequence[str], n: int = 8) -> str:
    """The first ``n`` keys, comma-separated, and how many more there are."""
    more = f', ... ({len(keys) - n} more)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def mismatch_message(missing: Sequence[str], unexpected: Sequence[str],
                     shapes: Sequence[str], checkpoint: Mapping,
                     config: Optional[str] = None, filename: Optional[str] = None) -> str:
    """What does not fit, where the checkpoint came from, and what to do.

    Args:
        missing (Sequence[str]): Model keys the checkpoint lacks.
        unexpected (Sequence[str]): Checkpoint keys the model lacks.
        shapes (Sequence[str]): Keys with other shapes (from :func:`compare_state_dicts`).
        checkpoint (Mapping): The loaded checkpoint (its ``meta`` is read).
        config (str, optional): The config file the model was built from.
        filename (str, optional): The checkpoint file.

    Returns:
        str: A multi-line message.
    """
    source = f'the checkpoint {filename}' if filename else 'the checkpoint'
    lines = [f'{source} does not fit the model built from the config '
             f'{config or "(given as a dict)"}:']
    if missing:
        lines.append(f'  {len(missing)} model keys missing from the checkpoint: '
                     f'{some_keys(missing)}')
    if unexpected:
        lines.append(f'  {len(unexpected)} checkpoint keys the model does not have: '
                     f'{some_keys(unexpected)}')
    if shapes:
        lines.append(f'  {len(shapes)} keys with other shapes: {some_keys(shapes, 4)}')
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    if isinstance(meta, Mapping) and meta.get('experiment_name'):
        lines.append(f'  the checkpoint was saved by the run {meta["experiment_name"]!r}')
    lines.append('  Most likely it is a checkpoint of another config or model: use the config '
                 'it was trained with (an official CRIS / LAVT / MagNet checkpoint needs '
                 'tools/model_converters/*2mmris.py first).')
    return '\n'.join(lines)


def load_model_state(model: nn.Module,
                     checkpoint: Mapping,
                     strict: bool = True,
                     config: Optional[str] = None,
                     filename: Optional[str] = None,
                     revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
                     ) -> Optional[str]:
    """Load a checkpoint's ``state_dict`` (or the checkpoint itself, if it has none) into
    ``model``, only if every key and shape fits, unless ``strict`` is False.

    Args:
        model (nn.Module): The model (not a DDP wrapper).
        checkpoint (Mapping): The loaded checkpoint.
        strict (bool): Raise on any missing / unexpected key or other shape. False loads
            the keys that fit (the others keep their values) and returns the summary.
            Defaults to True.
        config (str, optional): Config file of the model, for the message.
        filename (str, optional): Checkpoint file, for the message.
        revise_keys (Sequence[tuple[str, str]]): ``(pattern, replacement)`` applied to the
            checkpoint's keys with ``re.sub`` before comparing. Defaults to removing DDP's
            ``module.`` prefix.

    Returns:
        str | None: The mismatch summary when ``strict`` is False and something did not
        fit (the caller logs or warns it), else None.

    Raises:
        CheckpointMismatchError: ``strict`` and the keys or shapes differ.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(
            f'the checkpoint {filename or ""} holds a {type(checkpoint).__name__}, not a dict '
            'of weights')
    state = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state, '_metadata', None)
    for pattern, repl in revise_keys:
        state = OrderedDict((re.sub(pattern, repl, k), v) for k, v in state.items())
    own = model.state_dict()
    missing, unexpected, shapes = compare_state_dicts(own, state)
    msg = None
    if missing or unexpected or shapes:
        msg = mismatch_message(missing, unexpected, shapes, checkpoint, config, filename)
        if strict:
            raise CheckpointMismatchError(msg)
    fitting = OrderedDict((k, v) for k, v in state.items()
                          if k in own and getattr(v, 'shape', None) == own[k].shape)
    if metadata is not None:
        fitting._metadata = metadata  # module versions (e.g. BatchNorm's)
    model.load_state_dict(fitting, strict=False)
    return msg
