"""Evaluate a referring segmentation checkpoint.

Examples:
    python tools/test.py configs/cris/cris_tiny_1xb16-bf16-11e_toy-128x96.py work_dirs/cris_tiny_1xb16-bf16-11e_toy-128x96/epoch_11.pth
    bash tools/dist_test.sh CONFIG CHECKPOINT 8 --show-dir vis --out results.jsonl.gz
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from mmris.engine import RISRunner
from mmris.utils import register_all_modules, setup_runtime, teardown_runtime


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a referring segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the evaluation metrics')
    parser.add_argument(
        '--non-strict', action='store_true',
        help='load a checkpoint whose keys or shapes do not all fit the model (the keys that '
        'fit are loaded, the summary of the others is logged); by default a mismatch is an '
        'error before anything is scored')
    parser.add_argument(
        '--out', type=str,
        help='write one record per sentence (ids, sentence, intersection, union, predicted '
        'mask as COCO RLE) to this JSON-lines file, gzip-compressed when it ends with .gz; '
        'read it with mmris.evaluation.load_results (format: docs/train_test.md)')
    parser.add_argument(
        '--out-logits', action='store_true',
        help='also store the logits in the --out file (float16; large: ~0.3-0.6 MB per '
        '640 x 480 sentence)')
    parser.add_argument(
        '--show-dir',
        help='directory where a drawing of every test sample (ground truth | prediction, with '
        'the sentence) is written, as <show-dir>/vis_data/vis_image/'
        '<image stem>_ref<ref_id>_sent<sent_id>_<iter>.png')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> Config:
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks. Refer to usage '
            '"visualization=dict(type=\'SegVisualizationHook\')"')
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    # every sample (mmseg's hook draws one batch in 50 unless the config sets `interval`)
    visualization_hook.setdefault('interval', 1)
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        visualizer['save_dir'] = osp.join(cfg.work_dir, args.show_dir)
    return cfg


def results_evaluator(cfg: Config, args: argparse.Namespace) -> list:
    """``test_evaluator`` with the writer of the ``--out`` results file appended."""
    from mmris.evaluation import add_results_writer
    dataset = cfg.test_dataloader.dataset
    header = dict(
        config=args.config, checkpoint=args.checkpoint, cfg_options=args.cfg_options,
        dataset={k: dataset.get(k) for k in ('type', 'data_root', 'ann_file', 'split_file',
                                             'split', 'text_mode') if k in dataset})
    return add_results_writer(cfg.test_evaluator, args.out, args.out_logits, header)


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

    cfg.load_from = args.checkpoint
    if args.non_strict:
        cfg.load_strict = False
    # Testing needs no training loop, but mmengine's `runner.iter` (which the visualization
    # hook reads) builds it, training data included, when the config has one.
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = cfg.param_scheduler = None
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.out is not None:
        cfg.test_evaluator = results_evaluator(cfg, args)
    elif args.out_logits:
        raise SystemExit('--out-logits needs --out FILE')

    setup_runtime(cfg)
    runner = RISRunner.from_cfg(cfg)
    runner.test()
    del runner  # free the model wrapper before the process group goes
    teardown_runtime()


if __name__ == '__main__':
    main()
