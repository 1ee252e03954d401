"""The main job on the embedded toy data: generate it if absent, train the tiny CRIS config,
evaluate on val, and write visualised predictions (mask + sentence).

    python tools/run_toy.py [--config CONFIG] [--work-dir DIR] [--blank-text]

``--blank-text`` runs the same job with every sentence blanked (the ablation proving the model
uses the words). ``bash tools/run_toy.sh`` installs first when needed, then runs this.
"""
import argparse
import glob
import os
import os.path as osp
import time

from mmengine.config import Config, DictAction

from mmris.datasets.toy import (TOY_BERT_DIR, TOY_SPM_FILE, generate_toy_refer,
                                write_toy_bert, write_toy_spm)
from mmris.engine import RISRunner
from mmris.utils import register_all_modules, setup_runtime

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-bf16-11e_toy-128x96.py')
BLANK_CONFIG = osp.join(ROOT, 'configs/cris/cris_tiny_1xb16-bf16-11e_toy-128x96-blanktext.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train and evaluate tiny CRIS on toy data')
    parser.add_argument('--config', help='config (default: the tiny CRIS toy config)')
    parser.add_argument('--blank-text', action='store_true',
                        help='blank every sentence (ablation: the model must use the words)')
    parser.add_argument('--work-dir', help='work dir (default: work_dirs/<config name>)')
    parser.add_argument('--data-root', default=osp.join(ROOT, 'data/toy'))
    parser.add_argument('--num-vis', type=int, default=24,
                        help='how many val sentences to visualise')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value pairs')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    config = args.config or (BLANK_CONFIG if args.blank_text else CONFIG)
    name = osp.splitext(osp.basename(config))[0]
    work_dir = osp.abspath(args.work_dir or osp.join(ROOT, 'work_dirs', name))

    if not osp.exists(osp.join(args.data_root, 'toyref', 'refs(unc).p')):
        print(f'==> generating the toy dataset in {args.data_root}')
        generate_toy_refer(args.data_root)
    else:
        print(f'==> toy dataset found in {args.data_root}')

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = work_dir
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = args.data_root
    text_encoder = cfg.model.get('text_encoder') or {}
    if str(text_encoder.get('pretrained')).rstrip('/').endswith(TOY_BERT_DIR):
        # the toy BERT (MagNet's toy config): vocabulary and config next to the toy data
        text_encoder.pretrained = osp.join(args.data_root, TOY_BERT_DIR)
        if not osp.isfile(osp.join(text_encoder.pretrained, 'vocab.txt')):
            write_toy_bert(text_encoder.pretrained)
    if str(text_encoder.get('tokenizer')).endswith(TOY_SPM_FILE):
        # the toy sentencepiece model (EVF-SAM's toy config), next to the toy data
        text_encoder.tokenizer = osp.join(args.data_root, TOY_SPM_FILE)
        if not osp.isfile(text_encoder.tokenizer):
            write_toy_spm(text_encoder.tokenizer)
    setup_runtime(cfg)

    print(f'==> training {name} (work dir {work_dir})')
    start = time.time()
    runner = RISRunner.from_cfg(cfg)
    runner.train()
    train_min = (time.time() - start) / 60
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')

    # Evaluate the final checkpoint on val and draw some predictions with their sentences.
    test_cfg = cfg.copy()
    test_cfg.test_dataloader = cfg.val_dataloader
    test_cfg.test_evaluator = cfg.val_evaluator
    test_cfg.load_from = ckpt
    val_size = len(runner.val_dataloader.dataset)
    test_cfg.default_hooks.visualization = dict(
        type='SegVisualizationHook', draw=True,
        interval=max(1, val_size // max(1, args.num_vis)))
    stamp = time.strftime('%Y%m%d_%H%M%S')
    test_cfg.experiment_name = f'{name}_val_{stamp}'
    # a visualizer of its own (the training runner's is a named singleton with its own dir)
    test_cfg.visualizer.name = f'{name}_val_{stamp}'
    test_cfg.visualizer.save_dir = osp.join(work_dir, 'val_vis')
    test_runner = RISRunner.from_cfg(test_cfg)
    metrics = test_runner.test()
    vis_dir = osp.join(work_dir, 'val_vis', 'vis_data', 'vis_image')

    print('\n==> toy job done')
    print(f'    training time: {train_min:.1f} min')
    print('    val: ' + '  '.join(f'{k}={v:.2f}' for k, v in metrics.items()
                                 if isinstance(v, (int, float))))
    print(f'    checkpoint: {ckpt}')
    n_vis = len(glob.glob(osp.join(vis_dir, '*.png')))
    print(f'    {n_vis} visualised predictions (GT | prediction, sentence drawn): {vis_dir}')


if __name__ == '__main__':
    os.chdir(ROOT)
    main()
