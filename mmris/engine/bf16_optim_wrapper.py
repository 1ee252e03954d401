"""bf16 autocast for training on any device, the CPU included (mmengine's AmpOptimWrapper
asserts a GPU / NPU / MLU / MUSA)."""
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from torch import nn

from mmris.registry import OPTIM_WRAPPERS

__all__ = ['BF16OptimWrapper', 'native_bf16']


def native_bf16(device_type: str) -> bool:
    """Whether ``device_type`` has bf16 arithmetic units: on CPU, AVX-512 BF16 or AMX (not
    oneDNN's ``_is_mkldnn_bf16_supported``, which is true on any AVX-512 core and there
    emulates bf16, slower than fp32); on CUDA, Ampere and later."""
    if device_type == 'cpu':
        return torch.backends.mkldnn.is_available() and (
            torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    if device_type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return False


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """:class:`OptimWrapper` whose forward runs under ``torch.autocast(dtype=bfloat16)`` on
    the device of the model's parameters. bf16 has fp32's exponent range, so no loss scaling;
    parameters, gradients and the optimizer state stay fp32. Validation and testing do not go
    through the wrapper and stay fp32.

    Args:
        enabled (bool | str): ``True`` always casts; ``'auto'`` (default) casts only where the
            device computes bf16 natively (see :func:`native_bf16`: on a CPU without it bf16
            is emulated and slower than fp32), and logs the decision once; ``False`` never.
        **kwargs: the arguments of :class:`OptimWrapper` (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self, enabled: Union[bool, str] = 'auto', **kwargs) -> None:
        if enabled not in (True, False, 'auto'):
            raise ValueError(f"BF16OptimWrapper: enabled must be True, False or 'auto', "
                             f'got {enabled!r}')
        super().__init__(**kwargs)
        self.enabled = enabled
        self._decided = {}

    def _use_bf16(self, device_type: str) -> bool:
        if device_type not in self._decided:
            native = native_bf16(device_type)
            use = self.enabled is True or (self.enabled == 'auto' and native)
            if self.enabled == 'auto':
                print_log(f'BF16OptimWrapper: bf16 autocast {"on" if use else "off"} for '
                          f"{device_type} (enabled='auto'; native bf16: {native})",
                          logger='current')
            self._decided[device_type] = use
        return self._decided[device_type]

    @contextmanager
    def optim_context(self, model: nn.Module):
        """The parent's context (gradient accumulation) plus bf16 autocast.

        Args:
            model (nn.Module): the training model.
        """
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        with super().optim_context(model), torch.autocast(
                device_type, dtype=torch.bfloat16, enabled=self._use_bf16(device_type)):
            yield
