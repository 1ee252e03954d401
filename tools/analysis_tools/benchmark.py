"""Speed (and memory) of a referring segmentor, with real sentences.

Inference: images/s of ``model.test_step`` (preprocessing, forward, masks mapped back to the
original image size, thresholding) at a batch size; warm-up iterations are not timed; the
figure is the median over repeats. Training (``--train``): images/s of ``train_step``
(forward, backward, optimizer step) and the peak GPU memory.

Backends (inference): ``pytorch`` (``model.test_step``; ``--channels-last``, ``--bf16``
(CPU autocast) and ``--compile`` (``torch.compile`` of the network from image + token ids to
logits) change it), ``onnxruntime`` (the graph of ``tools/deployment/pytorch2onnx.py``,
exported on the fly unless ``--onnx FILE``) and ``onnxruntime-int8`` (its dynamic int8
quantization). ``--fuse-conv-bn`` folds BatchNorm into the convolutions (fp32-exact; the
CNN models); ``--compile`` with inductor freezes the weights unless ``--no-freezing``. Every
backend but plain ``pytorch`` runs the same preprocessing, tokenizer and post-processing
(:func:`mmris.deployment.predict_with`) around its network, so the figures are comparable.

Batches come from the config's test dataset when its files are present (real images and
sentences), otherwise from letterboxed random images with RefCOCO-style sentences
(``--synthetic`` forces that). Batches are prepared before timing: data loading is not timed.

Examples:
    python tools/analysis_tools/benchmark.py configs/cris/cris_r50_8xb8-50e_refcoco-416.py \
        --synthetic --batch-size 1 --threads 2
    python tools/analysis_tools/benchmark.py CONFIG --device cuda --amp --batch-size 32
    python tools/analysis_tools/benchmark.py CONFIG --device cuda --amp --train --batch-size 8
    python tools/analysis_tools/benchmark.py CONFIG --synthetic --threads 2 --backend onnxruntime
    python tools/analysis_tools/benchmark.py CONFIG --synthetic --threads 2 --channels-last \
        --compile
"""
import argparse
import atexit
import json
import os.path as osp
import platform
import shutil
import statistics
import tempfile
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper

from mmris.registry import MODELS
from mmris.utils import load_model_state, register_all_modules
from mmris.utils.bench_data import add_image_views, dataset_batches, synthetic_batch


BACKENDS = ('pytorch', 'onnxruntime', 'onnxruntime-int8')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a referring segmentor')
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='checkpoint (random init when not given)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--num-warmup', type=int, default=3)
    parser.add_argument('--num-iters', type=int, default=10, help='timed iterations per repeat')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true', help='autocast to float16 (GPU)')
    parser.add_argument('--train', action='store_true', help='time training steps')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--synthetic', action='store_true',
                        help='random images + RefCOCO-style sentences, even if data exist')
    parser.add_argument('--ori-shape', type=int, nargs=2, default=[480, 640],
                        help='original (h, w) of synthetic images')
    parser.add_argument('--sentences-per-image', type=int, default=1,
                        help='synthetic: consecutive samples sharing one image (what the '
                        "segmentor's dedup_images saves on)")
    parser.add_argument('--out', help='append the result as a JSON line to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='inference backend (default pytorch)')
    parser.add_argument('--onnx', help='an exported .onnx file for the onnxruntime backends '
                        '(default: export the config + checkpoint to a temporary folder)')
    parser.add_argument('--channels-last', action='store_true',
                        help='pytorch: model and images in channels-last memory format')
    parser.add_argument('--bf16', action='store_true',
                        help='pytorch on CPU: autocast to bfloat16 (lossy)')
    parser.add_argument('--compile', action='store_true',
                        help='pytorch: torch.compile the network (image + token ids -> logits)')
    parser.add_argument('--compile-backend', default='inductor',
                        help='torch.compile backend (default inductor)')
    parser.add_argument('--freezing', action=argparse.BooleanOptionalAction, default=True,
                        help='--compile with inductor: freeze the weights (constant-fold '
                        'BN into convolutions, pre-pack GEMM / conv weights; '
                        'torch._inductor.config.freezing). Default on; --no-freezing')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='pytorch: fold every BatchNorm into the convolution before it '
                        '(mmcv.cnn.fuse_conv_bn; exact up to fp32 rounding)')
    args = parser.parse_args(argv)
    torch_opts = args.channels_last or args.bf16 or args.compile or args.fuse_conv_bn
    if args.backend != 'pytorch' and torch_opts:
        parser.error('--channels-last, --bf16, --compile and --fuse-conv-bn are options of '
                     '--backend pytorch')
    if args.train and (args.backend != 'pytorch' or torch_opts):
        parser.error('--train times plain PyTorch only')
    if args.onnx and args.backend == 'pytorch':
        parser.error('--onnx is for the onnxruntime backends')
    return args


def inference_step(args: argparse.Namespace, model: torch.nn.Module, work_dir: str):
    """The timed function of one batch for ``args.backend`` and the PyTorch options."""
    from mmris.deployment import (ORTSegmentor, RISTensorModel, export_onnx, predict_with,
                                  quantize_int8)
    model.eval()
    if args.fuse_conv_bn:
        from mmcv.cnn import fuse_conv_bn
        model = fuse_conv_bn(model)
    amp = dict(device_type='cuda', dtype=torch.float16, enabled=args.amp)
    if args.backend == 'pytorch' and not (args.channels_last or args.bf16 or args.compile):

        def step(batch):
            with torch.no_grad(), torch.autocast(**amp):
                return model.test_step(batch)
        return step
    if args.backend == 'pytorch':
        if args.channels_last:
            model.to(memory_format=torch.channels_last)
        net = RISTensorModel(model)
        if args.compile:
            if args.compile_backend == 'inductor':
                import torch._inductor.config as inductor_config
                inductor_config.freezing = args.freezing
            net = torch.compile(net, backend=args.compile_backend)
        if args.bf16:
            amp = dict(device_type=args.device.split(':')[0], dtype=torch.bfloat16)
    else:
        onnx_file = args.onnx
        if not onnx_file:
            onnx_file = osp.join(work_dir, 'model.onnx')
            export_onnx(model, onnx_file)
        if args.backend == 'onnxruntime-int8':
            onnx_file = quantize_int8(onnx_file, osp.join(work_dir, 'model_int8.onnx'))
        net = ORTSegmentor(onnx_file, threads=args.threads)
        net.check_model(model)

    def step(batch):
        with torch.no_grad(), torch.autocast(**amp):
            return predict_with(model, net, batch, channels_last=args.channels_last)
    return step


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model).to(args.device)
    if args.checkpoint:
        from mmengine.runner import CheckpointLoader
        ckpt = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
        load_model_state(model, ckpt, config=args.config, filename=args.checkpoint)  # strict

    n_batches = args.num_warmup + args.num_iters
    batches = None if args.synthetic else dataset_batches(
        cfg, args.batch_size, n_batches, 'train_dataloader' if args.train else 'test_dataloader')
    source = 'dataset'
    if batches is None:
        size = tuple(cfg.model.data_preprocessor['size'])[::-1]  # (w, h) -> (h, w)
        pipeline = cfg.test_dataloader.dataset.get('pipeline', [])
        batches = [add_image_views(synthetic_batch(args.batch_size, size,
                                                   tuple(args.ori_shape), seed=i,
                                                   per_image=args.sentences_per_image),
                                   pipeline) for i in range(n_batches)]
        source = 'synthetic'

    amp = dict(device_type='cuda', dtype=torch.float16, enabled=args.amp)
    if args.train:
        model.train()
        wrapper_cfg = dict(cfg.optim_wrapper)
        if args.amp:
            wrapper_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
        optim_wrapper = build_optim_wrapper(model, wrapper_cfg)

        def step(batch):
            return model.train_step(batch, optim_wrapper)
    else:
        work_dir = tempfile.mkdtemp(prefix='mmris_bench_')  # the exported graphs
        atexit.register(shutil.rmtree, work_dir, True)
        step = inference_step(args, model, work_dir)

    def sync():
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()

    for batch in batches[:args.num_warmup]:
        step(batch)
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    rates = []
    for _ in range(args.repeat):
        sync()
        start = time.perf_counter()
        for batch in batches[args.num_warmup:]:
            step(batch)
        sync()
        rates.append(args.num_iters * args.batch_size / (time.perf_counter() - start))
    result = dict(
        config=args.config, mode='train' if args.train else 'inference', source=source,
        batch_size=args.batch_size, device=args.device, amp=args.amp, backend=args.backend,
        channels_last=args.channels_last, bf16=args.bf16, fuse_conv_bn=args.fuse_conv_bn,
        compile=(args.compile_backend + ('+freezing' if args.freezing and
                                         args.compile_backend == 'inductor' else ''))
        if args.compile else False,
        threads=torch.get_num_threads(), images_per_s=round(statistics.median(rates), 3),
        ms_per_image=round(1000 / statistics.median(rates), 1),
        all_images_per_s=[round(r, 3) for r in rates],
        machine=(torch.cuda.get_device_name() if args.device.startswith('cuda')
                 else f'{platform.processor() or platform.machine()} CPU'),
        torch=torch.__version__)
    if args.backend != 'pytorch':
        import onnxruntime
        result['onnxruntime'] = onnxruntime.__version__
    if args.device.startswith('cuda'):
        result['peak_memory_GiB'] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(json.dumps(result))
    if args.out:
        with open(args.out, 'a') as f:
            f.write(json.dumps(result) + '\n')
    return result


if __name__ == '__main__':
    main()
