"""Distributed training without GPUs."""
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS as ROOT_MODEL_WRAPPERS

from mmris.registry import MODEL_WRAPPERS


# mmengine's Runner looks model wrappers up in mmengine's root registry, which does not search
# grandchildren such as mmris's (root -> mmseg -> mmris), so the wrapper is registered there too.
@ROOT_MODEL_WRAPPERS.register_module()
@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for a model on the CPU (gloo backend).

    mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``, which DDP refuses for a CPU
    module; this wrapper drops them. ``tools/train.py`` selects it on a machine without a GPU.

    Args:
        module (nn.Module): The model, on the CPU.
        detect_anomalous_params (bool): See ``MMDistributedDataParallel``.
        **kwargs: Passed to ``DistributedDataParallel``.
    """

    def __init__(self, module, detect_anomalous_params: bool = False, **kwargs) -> None:
        kwargs.pop('device_ids', None)
        kwargs.pop('output_device', None)
        super().__init__(module, detect_anomalous_params=detect_anomalous_params, **kwargs)
