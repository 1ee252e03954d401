"""Train a referring segmentation model with mmengine's Runner.

Examples:
    python tools/train.py configs/cris/cris_tiny_1xb16-10e_toy-128.py
    bash tools/dist_train.sh configs/coupalign_swin-b.py 8 --amp
"""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from mmris.engine import RISRunner
from mmris.utils import register_all_modules, setup_runtime, teardown_runtime


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a referring segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in the work dir '
        'when no path is given')
    parser.add_argument(
        '--non-strict', action='store_true',
        help='let `load_from` load a checkpoint whose keys or shapes do not all fit the model '
        '(the summary is logged); by default a mismatch is an error before training. '
        '--resume is always strict')
    parser.add_argument(
        '--amp', action='store_true', default=False,
        help='enable automatic mixed precision training (GPU)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the lr by total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'train_dataloader.batch_size=4')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


SHORT_RUN = ('--cfg-options train_cfg.max_epochs=1 train_cfg.val_interval=1 '
             'train_dataloader.dataset.indices=64 val_dataloader.dataset.indices=16')


def enable_auto_scale_lr(cfg: Config, config_file: str) -> None:
    """Turn on mmengine's linear lr scaling, which needs ``auto_scale_lr.base_batch_size``
    (the total batch the config's lr was tuned for)."""
    auto = cfg.get('auto_scale_lr') or {}
    if not auto.get('base_batch_size'):
        raise SystemExit(
            f'--auto-scale-lr: {config_file} has no auto_scale_lr.base_batch_size, the total '
            'batch (GPUs x batch per GPU, `{gpus}xb{batch}` in config names) its learning '
            'rate was tuned for, so there is nothing to scale from. Add '
            '`auto_scale_lr = dict(enable=False, base_batch_size=N)` to the config or give '
            '--cfg-options auto_scale_lr.base_batch_size=N.')
    cfg.auto_scale_lr = dict(auto, enable=True)


def check_loop_options(cfg: Config, config_file: str) -> None:
    """Name the mistake of giving an epoch-based loop ``max_iters`` (mmengine fails with
    "unexpected keyword argument")."""
    train_cfg = cfg.get('train_cfg') or {}
    kind = train_cfg.get('type', '')
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    epoch_based = kind.endswith('EpochBasedTrainLoop') or (not kind and
                                                          train_cfg.get('by_epoch', False))
    if epoch_based and 'max_iters' in train_cfg:
        raise SystemExit(
            f'train_cfg.max_iters: {config_file} trains with an epoch-based loop '
            f'({kind or "by_epoch=True"}), which counts epochs, not iterations. For a short '
            f'run shorten the epochs instead, e.g. {SHORT_RUN} (docs/train_test.md, "Short '
            'runs").')


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    check_loop_options(cfg, args.config)
    if args.non_strict:
        cfg.load_strict = False

    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg, args.config)

    setup_runtime(cfg)
    runner = RISRunner.from_cfg(cfg)
    runner.train()
    del runner  # free the model wrapper before the process group goes
    teardown_runtime()


if __name__ == '__main__':
    main()
