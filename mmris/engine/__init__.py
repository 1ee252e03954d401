from .cpu_ddp import CPUDistributedDataParallel
from .runner import CheckpointResumeError, RISRunner
from .text_truncation_hook import TextTruncationHook

__all__ = [
    'CPUDistributedDataParallel', 'TextTruncationHook', 'RISRunner', 'CheckpointResumeError'
]
