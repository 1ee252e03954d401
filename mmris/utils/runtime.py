"""Runtime adjustments applied by ``tools/train.py`` and ``tools/test.py``."""
import logging

import torch
from mmengine.config import Config
from mmengine.logging import print_log


def setup_runtime(cfg: Config) -> Config:
    """Make a config runnable on the machine at hand.

    On a machine without a GPU the distributed backend becomes ``gloo`` (NCCL needs GPUs), so
    ``tools/dist_train.sh CONFIG 2`` works on CPU.

    Args:
        cfg (Config): the config to update in place.

    Returns:
        Config: the same config.
    """
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if not torch.cuda.is_available() and dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        if cfg.get('launcher', 'none') != 'none':
            print_log('No GPU found: using the gloo distributed backend.', logger='current',
                      level=logging.INFO)
    return cfg
