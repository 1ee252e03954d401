from .bf16_optim_wrapper import BF16OptimWrapper, native_bf16
from .cpu_ddp import CPUDistributedDataParallel
from .runner import CheckpointResumeError, RISRunner
from .text_truncation_hook import TextTruncationHook

__all__ = [
    'BF16OptimWrapper', 'native_bf16', 'CPUDistributedDataParallel', 'TextTruncationHook',
    'RISRunner', 'CheckpointResumeError'
]
