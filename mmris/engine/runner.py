"""mmengine's Runner with strict checkpoint loading (``load_from``) and checked resuming."""
import logging
from typing import Callable, Mapping, Optional, Union

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from mmris.registry import RUNNERS
from mmris.utils.state_dict import CheckpointMismatchError, load_model_state

__all__ = ['RISRunner', 'CheckpointResumeError']


class CheckpointResumeError(ValueError):
    """The checkpoint given to ``--resume`` cannot continue this config's training."""


@RUNNERS.register_module()
class RISRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner`, loading checkpoints strictly.

    mmengine loads ``load_from`` (testing, fine-tuning) with ``strict=False``: a checkpoint
    of another model loads nothing, logs a warning, and its scores or its training come out
    as if it had loaded. Here every load compares the checkpoint's keys and shapes with the
    model's first (:func:`mmris.utils.load_model_state`) and a mismatch is a
    :class:`~mmris.utils.CheckpointMismatchError` naming the missing and unexpected keys,
    before anything is scored or trained. The config key ``load_strict = False`` (or
    ``--non-strict`` of ``tools/test.py`` / ``tools/train.py``) loads the keys that fit
    instead and logs the summary as a warning.

    Resuming (``resume = True``, ``--resume``) is always strict, and the checkpoint must be
    one that mmengine's Runner saved while training (``meta`` with ``epoch`` and ``iter``,
    ``message_hub``; an optimizer state with this config's parameter groups): otherwise a
    :class:`CheckpointResumeError` says what is missing before training starts (mmengine
    would fail with ``KeyError: 'epoch'`` or an optimizer "parameter group" ValueError).

    ``tools/train.py``, ``tools/test.py`` and ``tools/run_toy.py`` build this runner.
    """

    _resuming = False

    @property
    def load_strict(self) -> bool:
        """The config's ``load_strict`` (default True)."""
        return bool(self.cfg.get('load_strict', True))

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's resume, the checkpoint checked by :meth:`load_checkpoint` first."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: Optional[bool] = None,
                        revise_keys: list = [(r'^module.', '')]) -> dict:
        """Load a checkpoint into the model, only if it fits.

        Args:
            filename (str): Checkpoint file.
            map_location (str | Callable): Where tensors go. Defaults to 'cpu'.
            strict (bool, optional): Refuse any key / shape mismatch. None: True when
                resuming, else the config's ``load_strict`` (default True).
            revise_keys (list): ``(pattern, replacement)`` for the checkpoint's keys.
                Defaults to removing ``module.``.

        Returns:
            dict: The checkpoint.

        Raises:
            CheckpointMismatchError: The keys or shapes differ (strict).
            CheckpointResumeError: Resuming from a checkpoint that cannot resume.
        """
        if strict is None:
            strict = True if self._resuming else self.load_strict
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if self._resuming:
            self._check_resume_meta(checkpoint, filename)
        try:
            msg = load_model_state(model, checkpoint, strict=strict,
                                   config=getattr(self.cfg, 'filename', None), filename=filename,
                                   revise_keys=revise_keys)
        except CheckpointMismatchError as e:
            if self._resuming:
                raise CheckpointResumeError(
                    f'cannot resume: {e}\n  Resuming needs the config of the run that saved '
                    'the checkpoint.') from None
            raise CheckpointMismatchError(
                f'{e}\n  To load only the keys that fit, pass --non-strict '
                '(config: load_strict = False).') from None
        if self._resuming:
            self._check_resume_optimizer(checkpoint, filename)
        if msg:
            print_log(msg + '\n  load_strict=False: loaded the keys that fit; the others keep '
                      'their initial values.', logger='current', level=logging.WARNING)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    @staticmethod
    def _check_resume_meta(checkpoint: Mapping, filename: str) -> None:
        """Refuse a checkpoint without the training state mmengine's ``resume`` reads."""
        meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
        lacks = [k for k in ('epoch', 'iter') if not isinstance(meta, Mapping) or k not in meta]
        lacks = [f"meta['{k}']" for k in lacks]
        if not isinstance(checkpoint, Mapping) or 'message_hub' not in checkpoint:
            lacks.append("'message_hub'")
        if lacks:
            raise CheckpointResumeError(
                f'cannot resume from {filename}: it has no {", ".join(lacks)}, so it is not a '
                'checkpoint saved by the Runner during training (a converted or released '
                'model, or another tool\'s file). To start a new training from its weights, '
                f'use --cfg-options load_from={filename} without --resume.')

    def _check_resume_optimizer(self, checkpoint: Mapping, filename: str) -> None:
        """Refuse an optimizer state whose parameter groups are not this optimizer's."""
        saved = checkpoint.get('optimizer')
        optim = self.optim_wrapper
        if not isinstance(saved, Mapping) or not isinstance(optim, OptimWrapper) \
                or isinstance(optim, OptimWrapperDict) or 'param_groups' not in saved:
            return
        ours = [len(g['params']) for g in optim.optimizer.param_groups]
        theirs = [len(g.get('params', ())) for g in saved['param_groups']]
        if ours != theirs:
            raise CheckpointResumeError(
                f'cannot resume from {filename}: its optimizer state has {len(theirs)} '
                f'parameter groups of sizes {theirs[:8]}, the optimizer of this config '
                f'{len(ours)} of sizes {ours[:8]}: it was saved by a run with another model '
                'or optimizer config (paramwise_cfg). Resuming needs the config of the run '
                'that saved it.')
