from .bf16_optim_wrapper import BF16OptimWrapper, native_bf16
from .channels_last_hook import ChannelsLastHook
from .cpu_ddp import CPUDistributedDataParallel
from .runner import CheckpointResumeError, RISRunner
from .text_truncation_hook import TextTruncationHook

__all__ = [
    'BF16OptimWrapper', 'native_bf16', 'ChannelsLastHook', 'CPUDistributedDataParallel',
    'TextTruncationHook', 'RISRunner', 'CheckpointResumeError'
]
