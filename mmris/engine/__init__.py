from .cpu_ddp import CPUDistributedDataParallel
from .text_truncation_hook import TextTruncationHook

__all__ = ['CPUDistributedDataParallel', 'TextTruncationHook']
