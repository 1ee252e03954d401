"""Log, once per run, how many sentences the text encoder cut to its ``word_len``."""
from typing import Dict, List, Optional

from mmengine.dist import all_gather_object
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmris.registry import HOOKS

__all__ = ['TextTruncationHook']


@HOOKS.register_module()
class TextTruncationHook(Hook):
    """Sum the ``truncation_stats`` of every text encoder in the model (all ranks) and log
    them at the end of the run: how many sentence encodings were longer than the encoder's
    ``word_len`` (and so cut), out of how many, and the longest one.

    Training counts every encoding (a sentence drawn in several epochs counts each time);
    validation and test count each sentence once (plus the few a distributed sampler repeats
    to fill the last batch). The counts are reset when the run starts.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._eval_name = 'val'

    @staticmethod
    def _encoders(runner) -> List:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return [m for m in model.modules() if hasattr(m, 'truncation_stats')]

    def before_run(self, runner) -> None:
        self._eval_name = 'val'
        for enc in self._encoders(runner):
            enc.truncation_stats.reset()

    def before_val(self, runner) -> None:
        self._eval_name = 'val'

    def before_test(self, runner) -> None:
        self._eval_name = 'test'

    def summary(self, runner) -> Dict[str, Optional[dict]]:
        """The counts of all ranks per mode ('train' and 'val' / 'test'), with ``word_len``;
        None for a mode that encoded nothing. Call it on every rank."""
        encoders = self._encoders(runner)
        mine = [enc.truncation_stats.counts for enc in encoders]
        gathered = all_gather_object(mine)
        word_len = sorted({enc.truncation_stats.word_len for enc in encoders})
        out = {}
        for mode, name in (('train', 'train'), ('eval', self._eval_name)):
            parts = [counts[mode] for rank in gathered for counts in rank]
            merged = encoders[0].truncation_stats.merge(parts) if encoders else None
            out[name] = dict(merged, word_len=word_len) if merged and merged['seen'] else None
        return out

    def after_run(self, runner) -> None:
        if not self._encoders(runner):
            return
        for name, c in self.summary(runner).items():
            if c is None:
                continue
            word_len = '/'.join(str(n) for n in c['word_len'])
            msg = (f'TextTruncationHook: {name}: {c["cut"]} of {c["seen"]} sentence '
                   f'encodings were longer than word_len={word_len} tokens and were cut')
            if c['cut']:
                msg += (f'; the longest needed {c["longest"]} tokens: '
                        f'"{c["longest_text"]}"')
            print_log(msg, logger='current')
