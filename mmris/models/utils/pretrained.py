"""Pretrained towers (CLIP image / text, Swin, BERT): all their tensors load, or an error.

The rule, the same for every source: each tensor of the part (parameters and persistent
buffers) must come from the file with its shape, and each tensor of the file must go into the
part, except for the key patterns the part declares as tolerated:

- ``tolerated_missing``: the part's own additions that no released checkpoint has (CRIS's
  ``attnpool.connect`` branch, LAVT's fusion blocks and per-stage output norms, buffers
  computed at build time); they keep their init.
- ``tolerated_unexpected``: what released checkpoints hold beyond the part (a classifier
  ``head``, the final ``norm`` of an ImageNet Swin, BERT's ``pooler`` and pre-training ``cls``
  heads, computed buffers); they are ignored.

Anything else is a :class:`PretrainedMismatchError` naming the file, the part and the first
keys that did not match, before training starts; a file that fits none of the part's tensors
(e.g. a CLIP checkpoint given as the Swin ``pretrained``) says so.
"""
import re
from typing import Dict, List, Mapping, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from mmris.utils.state_dict import CheckpointMismatchError, compare_state_dicts, some_keys

__all__ = ['PretrainedMismatchError', 'check_pretrained', 'load_pretrained']


class PretrainedMismatchError(CheckpointMismatchError):
    """A pretrained file does not hold the tensors of the part it is given for."""


def _split(keys: Sequence[str], patterns: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(keys matching none of the ``re.match`` patterns, keys matching one)."""
    bad = [k for k in keys if not any(re.match(p, k) for p in patterns)]
    return bad, [k for k in keys if k not in set(bad)]


def _by_pattern(keys: Sequence[str], patterns: Sequence[str]) -> str:
    """'pattern (n tensors)' for the patterns that matched some of ``keys``."""
    counts = [(p, sum(bool(re.match(p, k)) for k in keys)) for p in patterns]
    return ', '.join(f'{p} ({n})' for p, n in counts if n)


def check_pretrained(missing: Sequence[str],
                     unexpected: Sequence[str],
                     filename: str,
                     part: str,
                     num_expected: int,
                     shapes: Sequence[str] = (),
                     tolerated_missing: Sequence[str] = (),
                     tolerated_unexpected: Sequence[str] = ()) -> str:
    """Raise unless every missing / unexpected key is tolerated and every shape fits.

    Args:
        missing (Sequence[str]): Keys of the part that the file lacks.
        unexpected (Sequence[str]): Keys of the file that the part lacks.
        filename (str): The file (or directory), for the message.
        part (str): The model part, for the message (e.g. 'SwinFusion image backbone').
        num_expected (int): How many tensors the part has.
        shapes (Sequence[str]): ``'key: checkpoint (..), model (..)'`` of other shapes.
        tolerated_missing (Sequence[str]): ``re.match`` patterns of the part's keys that
            the file may lack.
        tolerated_unexpected (Sequence[str]): Patterns of file keys the part may lack.

    Returns:
        str: What was tolerated, for the log ('' if nothing).

    Raises:
        PretrainedMismatchError: naming the file, the part and the first unmatched keys.
    """
    bad_missing, ok_missing = _split(missing, tolerated_missing)
    bad_unexpected, ok_unexpected = _split(unexpected, tolerated_unexpected)
    if bad_missing or bad_unexpected or shapes:
        found = num_expected - len(missing) - len(shapes)
        lines = [f'{filename} does not fit the {part}: {found} of its {num_expected} '
                 'tensors are in the file with their shapes.']
        if found <= 0:
            lines[0] += (' It is not a checkpoint of this part (another model\'s, or a '
                         'whole-model checkpoint meant for load_from).')
        if bad_missing:
            lines.append(f'  {len(bad_missing)} keys of the {part} missing from the file: '
                         f'{some_keys(bad_missing)}')
        if bad_unexpected:
            lines.append(f'  {len(bad_unexpected)} keys of the file the {part} does not '
                         f'have: {some_keys(bad_unexpected)}')
        if shapes:
            lines.append(f'  {len(shapes)} keys with other shapes: {some_keys(shapes, 4)}')
        if tolerated_missing or tolerated_unexpected:
            lines.append(f'  (tolerated: missing {list(tolerated_missing)}, extra '
                         f'{list(tolerated_unexpected)})')
        raise PretrainedMismatchError('\n'.join(lines))
    notes = []
    if ok_missing:
        notes.append(f'kept their init: {_by_pattern(ok_missing, tolerated_missing)}')
    if ok_unexpected:
        notes.append('ignored from the file: '
                     f'{_by_pattern(ok_unexpected, tolerated_unexpected)}')
    return '; '.join(notes)


def load_pretrained(module: nn.Module,
                    state: Mapping[str, Tensor],
                    filename: str,
                    part: str,
                    tolerated_missing: Sequence[str] = (),
                    tolerated_unexpected: Sequence[str] = ()) -> None:
    """Load ``state`` into ``module`` after :func:`check_pretrained`, and log what loaded.

    Args:
        module (nn.Module): The part.
        state (Mapping[str, Tensor]): Its weights, under its key names.
        filename (str): The file they came from.
        part (str): The part's name for messages.
        tolerated_missing (Sequence[str]): See :func:`check_pretrained`.
        tolerated_unexpected (Sequence[str]): See :func:`check_pretrained`.

    Raises:
        PretrainedMismatchError: see :func:`check_pretrained`.
    """
    own = module.state_dict()
    missing, unexpected, shapes = compare_state_dicts(own, state)
    note = check_pretrained(missing, unexpected, filename, part, len(own), shapes,
                            tolerated_missing, tolerated_unexpected)
    fitting: Dict[str, Tensor] = {k: v for k, v in state.items() if k in own}
    module.load_state_dict(fitting, strict=False)
    print_log(f'{part}: loaded {len(fitting)} of its {len(own)} tensors from {filename}'
              + (f'; {note}' if note else ''), logger='current')
