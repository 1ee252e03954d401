"""Runtime adjustments applied by ``tools/train.py`` and ``tools/test.py``."""
import gc
import logging

import torch
from mmengine.config import Config
from mmengine.logging import print_log


def setup_runtime(cfg: Config) -> Config:
    """Make a config runnable on the machine at hand.

    On a machine without a GPU the distributed backend becomes ``gloo`` (NCCL needs GPUs), so
    ``tools/dist_train.sh CONFIG 2`` works on CPU: under the ``pytorch`` launcher the process
    group is initialised here (mmengine's own initialisation calls ``torch.cuda.set_device``)
    and the model is wrapped by :class:`CPUDistributedDataParallel`.

    Args:
        cfg (Config): the config to update in place.

    Returns:
        Config: the same config.
    """
    if torch.cuda.is_available():
        return cfg
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    launcher = cfg.get('launcher', 'none')
    if launcher != 'none':
        print_log(f"No GPU found: using the {dist_cfg['backend']} distributed backend.",
                  logger='current', level=logging.INFO)
        cfg.setdefault('model_wrapper_cfg', dict(type='CPUDistributedDataParallel'))
        if launcher == 'pytorch' and not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend=dist_cfg['backend'])
    return cfg


def teardown_runtime() -> None:
    """Destroy the process group, if any: a gloo group left to the interpreter's exit aborts
    the process ("terminate called without an active exception").

    Call it after dropping the runner (``del runner``): the garbage collection here then frees
    the model wrapper and its reducer, which hold the group, while the interpreter is fully
    alive, before every rank meets at a barrier and the group is destroyed.
    """
    gc.collect()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()  # no rank destroys the group while another still uses it
        torch.distributed.destroy_process_group()
