"""A web page for referring segmentation: upload an image, type sentences, see the masks.

One overlay per sentence (the sentence drawn on it, by the config's RISLocalVisualizer), the
masks as PNG files (0 / 255) to download, and the time taken. Runs on CPU by default. Needs
the ``demo`` extra (``pip install -e ".[demo]"``: Gradio).

Examples:
    # one model
    python demo/web_demo.py configs/cris/cris_r50_8xb8-50e_refcoco-416.py cris_r50.pth
    # a model picker: the first model plus every --model CONFIG=CHECKPOINT
    python demo/web_demo.py CONFIG CHECKPOINT \\
        --model configs/lavt/lavt_swin-b_8xb4-40e_refcoco-480.py=lavt_refcoco.pth --port 7861
    # ... plus every training run under work_dirs (its saved config, its last checkpoint)
    python demo/web_demo.py CONFIG CHECKPOINT --scan work_dirs
Then open http://127.0.0.1:7860 (``--host 0.0.0.0`` serves other machines too).
"""
import logging
import os
import os.path as osp
import shutil
import tempfile
import time
from argparse import ArgumentParser, Namespace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # nothing leaves the machine

DEMO_DIR = osp.dirname(osp.abspath(__file__))
EXAMPLES = [[osp.join(DEMO_DIR, 'demo.png'), 'the yellow triangle\nthe big red circle']]
MAX_SENTENCES = 16
logger = logging.getLogger('mmris.web_demo')


def parse_args(argv: Optional[Sequence[str]] = None) -> Namespace:
    parser = ArgumentParser(description='Web page for referring segmentation (Gradio)')
    parser.add_argument('config', help='config file, or a model name from model-index.yml')
    parser.add_argument('checkpoint', help='its checkpoint file')
    parser.add_argument(
        '--model', action='append', default=[], metavar='CONFIG=CHECKPOINT',
        help='another model for the picker (repeat for more); the page offers every model '
        'given, named after its config')
    parser.add_argument(
        '--scan', metavar='WORK_DIRS',
        help='also offer every training run under this folder (e.g. work_dirs): each '
        '<run>/<run>.py config that the runner saved, with the checkpoint named in '
        '<run>/last_checkpoint (else its newest .pth)')
    parser.add_argument('--port', type=int, default=7860, help='port (default 7860)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default 127.0.0.1: this machine only)')
    parser.add_argument('--device', default='cpu', help='cpu (default), cuda, cuda:1, ...')
    args = parser.parse_args(argv)
    pairs = [(args.config, args.checkpoint)]
    for spec in args.model:
        config, sep, checkpoint = spec.rpartition('=')
        if not sep or not config or not checkpoint:
            parser.error(f'--model takes CONFIG=CHECKPOINT, got {spec!r}')
        pairs.append((config, checkpoint))
    if args.scan:
        if not osp.isdir(args.scan):
            parser.error(f'--scan: no such folder: {args.scan!r}')
        pairs += scan_runs(args.scan)
    for config, checkpoint in pairs:
        if config.endswith('.py') and not osp.isfile(config):
            parser.error(f'no such config file: {config!r}')
        if not osp.isfile(checkpoint):
            parser.error(f'no such checkpoint file: {checkpoint!r} (for {config})')
    args.models = model_table(list(dict.fromkeys(pairs)))
    return args


def scan_runs(root: str) -> List[Tuple[str, str]]:
    """(config, checkpoint) of each training run under ``root`` that has both: the config
    the runner saved as ``<run>/<run>.py`` and the checkpoint ``<run>/last_checkpoint``
    names (else the newest ``*.pth`` of the run)."""
    import glob
    found = []
    for run in sorted(os.listdir(root)):
        run_dir = osp.join(root, run)
        config = osp.join(run_dir, f'{run}.py')
        if not osp.isfile(config):
            continue
        checkpoint = None
        last = osp.join(run_dir, 'last_checkpoint')
        if osp.isfile(last):
            with open(last) as f:
                named = f.read().strip()
            named = named if osp.isabs(named) or osp.isfile(named) \
                else osp.join(run_dir, osp.basename(named))
            checkpoint = named if osp.isfile(named) else None
        if checkpoint is None:
            weights = sorted(glob.glob(osp.join(run_dir, '*.pth')), key=osp.getmtime)
            checkpoint = weights[-1] if weights else None
        if checkpoint:
            found.append((config, checkpoint))
    return found


def model_table(pairs: Sequence[Tuple[str, str]]) -> Dict[str, Tuple[str, str]]:
    """Picker label -> (config, checkpoint); the label is the config's name, with the
    checkpoint's when one config comes with several checkpoints."""
    stems = [osp.splitext(osp.basename(c))[0] for c, _ in pairs]
    table = {}
    for stem, (config, checkpoint) in zip(stems, pairs):
        label = stem if stems.count(stem) == 1 else f'{stem} ({osp.basename(checkpoint)})'
        table[label] = (config, checkpoint)
    return table


class Segmenter:
    """The page's work: builds each picked model once, runs it, turns every failure into a
    message for the page.

    Args:
        models (dict): Label -> (config, checkpoint).
        device (str): Device of the models. Defaults to 'cpu'.
    """

    def __init__(self, models: Dict[str, Tuple[str, str]], device: str = 'cpu') -> None:
        self.models = dict(models)
        self.device = device
        self._inferencers = {}
        self._last_dir = None  # the previous request's files (Gradio has copied them)

    def inferencer(self, label: str):
        from mmris.apis import RISInferencer
        if label not in self.models:
            raise ValueError(f'unknown model {label!r}; pick one of {", ".join(self.models)}')
        if label not in self._inferencers:
            config, checkpoint = self.models[label]
            self._inferencers[label] = RISInferencer(
                config, weights=checkpoint, device=self.device, show_progress=False)
        return self._inferencers[label]

    @staticmethod
    def preview(image: Optional[str]) -> Tuple[Optional[np.ndarray], str]:
        """(the uploaded image as RGB, or None with a message when it cannot be read)."""
        if not image:
            return None, ''
        try:
            from mmris.apis import load_ris_image
            return load_ris_image(image, 'the uploaded file')[..., ::-1], ''
        except (ValueError, TypeError, OSError) as e:
            return None, f'**Cannot read the file:** {_one_line(e)}'

    def __call__(self, label: str, image: Optional[str],
                 sentences: Optional[str]) -> Tuple[List[tuple], List[str], str]:
        """(overlays with captions, mask PNG files, status message in Markdown)."""
        texts = [t.strip() for t in (sentences or '').splitlines() if t.strip()]
        if not image:
            return [], [], '**No image.** Upload an image, or pick an example below.'
        if not texts:
            return [], [], ('**No sentence.** Type what to segment, e.g. "the man on the '
                            'left"; one sentence per line for several masks.')
        if len(texts) > MAX_SENTENCES:
            return [], [], f'**Too many sentences** ({len(texts)}): at most {MAX_SENTENCES}.'
        try:
            inferencer = self.inferencer(label)
            if self._last_dir:
                shutil.rmtree(self._last_dir, ignore_errors=True)
            out_dir = self._last_dir = tempfile.mkdtemp(prefix='mmris_web_')
            start = time.perf_counter()
            result = inferencer(image, texts, batch_size=min(len(texts), 8),
                                out_dir=out_dir)
            seconds = time.perf_counter() - start
        except (ValueError, TypeError, OSError) as e:  # bad input, named by the inferencer
            return [], [], f'**Cannot segment:** {_one_line(e)}'
        except Exception as e:  # noqa: BLE001 - the page shows a message, the log the trace
            logger.exception('web demo: inference failed')
            return [], [], f'**Internal error** ({type(e).__name__}): {_one_line(e)}'
        stem = osp.splitext(osp.basename(image))[0]
        overlays, masks, lines = [], [], []
        for pred in result['predictions']:
            name = f'{stem}_sent{pred["sent_id"]}.png'
            overlays.append((osp.join(out_dir, 'vis', name),
                             f'{pred["sent_id"] + 1}. {pred["text"]}'))
            masks.append(osp.join(out_dir, 'pred', name))
            cut = ' (cut: longer than the model reads)' if pred['truncated'] else ''
            lines.append(f'{pred["sent_id"] + 1}. "{pred["text"]}": '
                         f'{int(pred["mask"].sum())} pixels, score {pred["score"]:.2f}{cut}')
        h, w = result['predictions'][0]['mask'].shape
        status = (f'**{len(texts)} sentence{"s" * (len(texts) > 1)} in {seconds:.2f} s** '
                  f'({label} on {self.device}, image {w} x {h})\n\n' + '\n'.join(lines))
        return overlays, masks, status


def _one_line(error: BaseException) -> str:
    return ' '.join(str(error).split()) or type(error).__name__


def build_app(segmenter: Segmenter, examples: Optional[List[list]] = None):
    """The Gradio page (a ``gr.Blocks``); ``launch`` it."""
    import gradio as gr
    labels = list(segmenter.models)
    with gr.Blocks(title='mmris: referring image segmentation',
                   analytics_enabled=False) as app:
        gr.Markdown('## mmris: referring image segmentation\nUpload an image, type one '
                    'sentence per line, press **Segment**: one mask per sentence.')
        with gr.Row():
            with gr.Column():
                model = gr.Dropdown(labels, value=labels[0], label='Model', elem_id='model',
                                    interactive=len(labels) > 1)
                # a file input, not gr.Image: Gradio's image input rejects an unreadable file
                # before the handler runs, with a generic error instead of the message
                image = gr.File(label='Image file', file_types=['image'], type='filepath',
                                elem_id='image')
                preview = gr.Image(label='Image', interactive=False, elem_id='preview',
                                   height=240)
                sentences = gr.Textbox(label='Sentences (one per line)', lines=3,
                                       placeholder='the man on the left\nthe red car',
                                       elem_id='sentences')
                run = gr.Button('Segment', variant='primary', elem_id='run')
            with gr.Column():
                status = gr.Markdown(elem_id='status')
                overlays = gr.Gallery(label='Overlays', columns=2, elem_id='overlays',
                                      format='png', object_fit='contain', height='auto')
                masks = gr.File(label='Masks (PNG, 0 / 255)', file_count='multiple',
                                elem_id='masks')
        if examples:
            gr.Examples(examples=examples, inputs=[image, sentences])
        image.change(segmenter.preview, inputs=image, outputs=[preview, status])
        run.click(segmenter, inputs=[model, image, sentences],
                  outputs=[overlays, masks, status])
    return app


def launch(args: Namespace, block: bool = True):
    """Build the first model (so that a bad checkpoint fails at start), then serve."""
    segmenter = Segmenter(args.models, device=args.device)
    segmenter.inferencer(next(iter(args.models)))
    app = build_app(segmenter, EXAMPLES)
    app.queue(default_concurrency_limit=1)  # one inference at a time
    app.launch(server_name=args.host, server_port=args.port, share=False,
               prevent_thread_lock=not block, inbrowser=False, show_error=False,
               theme=_theme())
    return app


def _theme():
    """Gradio's default theme with the system fonts (the default loads web fonts)."""
    import gradio as gr
    return gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'],
                             font_mono=['ui-monospace', 'monospace'])


def main(argv: Optional[Sequence[str]] = None, block: bool = True):
    return launch(parse_args(argv), block=block)


if __name__ == '__main__':
    main()
