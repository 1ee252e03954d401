"""Referring segmentation with a trained model: image(s) + sentence(s) -> mask(s)."""
import copy
import difflib
import os.path as osp
import re
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import mmcv
import mmengine
import numpy as np
import torch
import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.infer.infer import BaseInferencer, ModelType
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.structures import SegDataSample
from rich.progress import track

from mmris.registry import INFERENCERS, TRANSFORMS
from mmris.utils.state_dict import CheckpointMismatchError, load_model_state
from mmris.visualization import ris_file_stem
from .ris_inputs import ImageType, LoadRISInput, TextsType, load_ris_image, pair_inputs

__all__ = ['RISInferencer', 'CheckpointMismatchError']

# Transforms that read files the inferencer does not have (annotations) or that it replaces
# (image loading from a path *or* an array).
_DROPPED = ('LoadReferAnnotation', 'LoadAnnotations', 'LoadDepthAnnotation',
            'LoadImageFromFile', 'LoadImageFromNDArray', 'InferencerLoader')
_LOADERS = ('LoadImageFromFile', 'LoadImageFromNDArray', 'InferencerLoader')


@INFERENCERS.register_module(name='ris')
@INFERENCERS.register_module()
class RISInferencer(BaseInferencer):
    """Referring image segmentation inferencer, in the style of mmseg's ``MMSegInferencer``.

    Runs the config's test pipeline without the annotation loading, on image paths or
    arrays, in batches, and returns a mask and a score per (image, sentence) pair.

    Examples:
        >>> from mmris.apis import RISInferencer
        >>> inferencer = RISInferencer('configs/cris/cris_r50_8xb8-50e_refcoco-416.py',
        ...                            weights='cris_r50_refcoco.pth')
        >>> result = inferencer('demo.jpg', 'the man on the left')
        >>> mask = result['predictions'][0]['mask']   # H x W uint8, {0, 1}
        >>> # several sentences for one image, overlays written to out/vis
        >>> inferencer('demo.jpg', ['the dog', 'the red car'], out_dir='out')
        >>> # one sentence per image, 8 pairs per forward pass
        >>> inferencer(['a.jpg', 'b.jpg'], ['the cat', 'the bike'], batch_size=8)
        >>> # the network exported by tools/deployment/pytorch2onnx.py, run by onnxruntime
        >>> inferencer = RISInferencer('configs/cris/cris_r50_8xb8-50e_refcoco-416.py',
        ...                            backend='onnxruntime', onnx_file='cris_r50.onnx')

    Args:
        model (str | dict | Config): Config file, config object, or a model name (or alias)
            from ``model-index.yml`` (``RISInferencer.list_models()`` lists them).
        weights (str, optional): Local checkpoint. mmris publishes no weights, so a model
            without them predicts with random weights (with a warning).
        device (str, optional): 'cpu', 'cuda', 'cuda:1', ... Defaults to the available one.
        scope (str, optional): Registry scope. Defaults to 'mmris'.
        show_progress (bool): Show a progress bar when there is more than one batch.
            Defaults to True.
        strict (bool): Raise :class:`CheckpointMismatchError` when the checkpoint's keys or
            shapes differ from the model's; False only warns. Defaults to True.
        backend (str): 'pytorch', or 'onnxruntime' to run the network exported by
            ``tools/deployment/pytorch2onnx.py`` (``onnx_file``); the test pipeline, the
            tokenizer and the post-processing stay this model's PyTorch code, so the
            config must be the one exported (``weights`` are then not needed).
            Defaults to 'pytorch'.
        onnx_file (str, optional): The ``.onnx`` file of the 'onnxruntime' backend.
        fuse_conv_bn (bool): 'pytorch' backend: fold every BatchNorm into the convolution
            before it (``mmcv.cnn.fuse_conv_bn``, the same logits up to fp32 rounding, less
            work for the CNN models: CRIS, EAVL). Defaults to False.
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'wait_time', 'img_out_dir', 'opacity', 'return_vis'}
    postprocess_kwargs: set = {'pred_out_dir'}

    def __init__(self,
                 model: Union[ModelType, str],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmris',
                 show_progress: bool = True,
                 strict: bool = True,
                 backend: str = 'pytorch',
                 onnx_file: Optional[str] = None,
                 fuse_conv_bn: bool = False) -> None:
        import mmris  # noqa: F401  (lets mmengine resolve `mmris::` and model names)
        from mmris.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        init_default_scope(scope or 'mmris')
        self.strict = strict
        if backend not in ('pytorch', 'onnxruntime'):
            raise ValueError(f"backend must be 'pytorch' or 'onnxruntime', got {backend!r}")
        if (backend == 'onnxruntime') != (onnx_file is not None):
            raise ValueError("give onnx_file with backend='onnxruntime' (and only then)")
        if fuse_conv_bn and backend != 'pytorch':
            raise ValueError(f"fuse_conv_bn=True is for backend='pytorch' (got {backend!r}; "
                             "onnxruntime's graph optimizations fold BatchNorm themselves)")
        if onnx_file is not None and not osp.isfile(onnx_file):
            raise FileNotFoundError(f'no such ONNX file: {onnx_file!r}')
        self.backend = backend
        self._weights_file = weights  # named in the mismatch message
        if weights is not None and not osp.isfile(weights):
            raise FileNotFoundError(f'no such checkpoint file: {weights!r}')
        if isinstance(model, str) and not osp.isfile(model) and model.endswith('.py'):
            raise FileNotFoundError(f'no such config file: {model!r}')
        super().__init__(
            model=model, weights=weights, device=device, scope=scope,
            show_progress=show_progress)
        if device == 'cpu' or not torch.cuda.is_available():
            self.model = revert_sync_batchnorm(self.model)
        if fuse_conv_bn:
            from mmcv.cnn import fuse_conv_bn as fuse
            self.model = fuse(self.model.eval())
        self._num_vis = 0
        self.ort = None
        if backend == 'onnxruntime':
            from mmris.deployment import ORTSegmentor
            self.ort = ORTSegmentor(onnx_file)
            self.ort.check_model(self.model)

    # ------------------------------------------------------------------ building
    @staticmethod
    def _index(scope: Optional[str] = 'mmris') -> Tuple[str, List[Tuple[List[str], dict]]]:
        """The folder holding ``configs`` and ``model-index.yml``, and ([name, *aliases],
        entry) for every model in the index."""
        import mmris  # noqa: F401  (adds mmris to mmengine's package table)
        root = BaseInferencer._get_repo_or_mim_dir(scope or 'mmris')
        models = []
        for entry in BaseInferencer._get_models_from_metafile(root):
            aliases = entry.get('Alias') or []
            aliases = [aliases] if isinstance(aliases, str) else list(aliases)
            models.append(([entry['Name']] + aliases, entry))
        return root, models

    def _load_model_from_metafile(self, model: str) -> Tuple[Config, Optional[str]]:
        """Config (and weights, if the index names any) of a model name or alias."""
        root, models = self._index(self.scope)
        for names, entry in models:
            if model.lower() in [n.lower() for n in names]:
                weights = entry.get('Weights')
                weights = weights[0] if isinstance(weights, list) else weights
                return Config.fromfile(osp.join(root, entry['Config'])), weights
        known = [n for names, _ in models for n in names]
        close = difflib.get_close_matches(model, known, n=3, cutoff=0.5)
        hint = f' Did you mean {", ".join(close)}?' if close else ''
        raise ValueError(f'{model!r} is neither a config file nor a model name in '
                         f'model-index.yml.{hint} RISInferencer.list_models() lists them.')

    @staticmethod
    def list_models(scope: Optional[str] = 'mmris', patterns: str = r'.*') -> List[str]:
        """Model names and aliases of ``model-index.yml`` matching ``patterns``
        (``re.match``)."""
        _, models = RISInferencer._index(scope)
        return [n for names, _ in models for n in names if re.match(patterns, n)]

    def _load_weights_to_model(self, model: nn.Module, checkpoint: Optional[dict],
                               cfg: Optional[Config]) -> None:
        """Load the checkpoint, naming the keys and shapes that do not fit."""
        if checkpoint is None:
            if self.backend == 'onnxruntime':  # the weights are in the ONNX file
                return
            warnings.warn('No checkpoint given: the model predicts with random weights.')
            return
        msg = load_model_state(model, checkpoint, strict=self.strict,
                               config=getattr(cfg, 'filename', None),
                               filename=self._weights_file)
        if msg:
            warnings.warn(msg + ' (strict=False: loading the keys that fit)')

    def _init_pipeline(self, cfg: Config) -> Compose:
        """The test pipeline without annotation loading, reading paths or arrays."""
        try:
            pipeline_cfg = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
        except AttributeError:
            pipeline_cfg = copy.deepcopy(cfg.get('test_pipeline'))
        if not pipeline_cfg:
            raise ValueError('the config has no test pipeline '
                             '(test_dataloader.dataset.pipeline or test_pipeline)')
        if not any(t['type'] in _LOADERS for t in pipeline_cfg):
            raise ValueError('the test pipeline has no image loading transform '
                             f'({", ".join(_LOADERS)})')
        rest = [TRANSFORMS.build(t) for t in pipeline_cfg if t['type'] not in _DROPPED]
        return Compose([LoadRISInput()] + rest)

    # ------------------------------------------------------------------ inputs
    def preprocess(self, pairs: List[dict], batch_size: int = 1,
                   **kwargs) -> Iterable[Tuple[List[int], dict]]:
        """Yields (pair indices, collated batch) of ``batch_size`` pairs each."""
        keys = ('img', 'text', 'name', 'sent_id')
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            data = [self.pipeline({k: p[k] for k in keys}) for p in chunk]
            yield list(range(start, start + len(chunk))), self.collate_fn(data)

    # ------------------------------------------------------------------ running
    def __call__(self,
                 inputs: Union[ImageType, Sequence[ImageType], Sequence[dict]],
                 texts: TextsType = None,
                 batch_size: int = 1,
                 return_datasamples: bool = False,
                 return_vis: bool = False,
                 show: bool = False,
                 wait_time: float = 0,
                 out_dir: str = '',
                 img_out_dir: str = 'vis',
                 pred_out_dir: str = 'pred',
                 opacity: float = 0.5) -> Dict[str, list]:
        """Segment what each sentence describes.

        Args:
            inputs (str | np.ndarray | list): An image (path, or BGR array as from
                ``cv2.imread``), a list of images, or a list of
                ``dict(img=..., text=str | list[str])``.
            texts (str | list, optional): For one image: a sentence or a list of sentences.
                For a list of images: one sentence (or list of sentences) per image, or one
                sentence for all. Not given with a list of dicts.
            batch_size (int): (image, sentence) pairs per forward pass. Defaults to 1.
            return_datasamples (bool): Return the ``SegDataSample`` of each pair (with
                ``seg_logits`` and ``pred_sem_seg``) instead of dicts. Defaults to False.
            return_vis (bool): Also return the drawings (RGB arrays). Defaults to False.
            show (bool): Show each drawing in a window. Defaults to False.
            wait_time (float): Seconds each shown drawing stays. Defaults to 0.
            out_dir (str): When set, drawings go to ``out_dir/img_out_dir`` and masks
                (PNG, 0 / 255) to ``out_dir/pred_out_dir``, both named
                ``<image stem>_sent<sentence index>.png``. Defaults to ''.
            img_out_dir (str): Subfolder of the drawings. Defaults to 'vis'.
            pred_out_dir (str): Subfolder of the masks. Defaults to 'pred'.
            opacity (float): Opacity of the drawn mask. Defaults to 0.5.

        Returns:
            dict: ``predictions``: one entry per (image, sentence) pair, in input order, each
            a dict with ``mask`` (H x W uint8 {0, 1} at the image's size), ``score`` (mean
            foreground probability inside the mask; the highest probability when the mask
            is empty), ``text`` (the sentence as the model read it, cleaned),
            ``input_index``, ``sent_id``, ``img_path`` (None for arrays), ``num_tokens`` and
            ``truncated`` (True when the sentence was longer than the text encoder takes and
            was cut); or the ``SegDataSample``s with ``return_datasamples``.
            ``visualization``: the RGB drawings with ``return_vis``, else [].
        """
        pairs = pair_inputs(inputs, texts)
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        img_dir = osp.join(out_dir, img_out_dir) if out_dir else ''
        pred_dir = osp.join(out_dir, pred_out_dir) if out_dir else ''
        batches = self.preprocess(pairs, batch_size=batch_size)
        num_batches = -(-len(pairs) // batch_size)
        if self.show_progress and num_batches > 1:
            batches = track(batches, description='Inference', total=num_batches)
        preds: List[SegDataSample] = []
        for _, data in batches:
            preds.extend(self.forward(data))
        for pair, pred in zip(pairs, preds):
            pred.set_metainfo(dict(input_index=pair['input_index'], stem=pair['stem']))
        self._check_lengths(preds)
        vis = self.visualize(pairs, preds, return_vis=return_vis, show=show,
                             wait_time=wait_time, img_out_dir=img_dir, opacity=opacity)
        return self.postprocess(preds, vis, return_datasamples, pred_out_dir=pred_dir)

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> List[SegDataSample]:
        """Feed a collated batch to the model (or its ONNX graph: the same preprocessing,
        tokenization and post-processing, see :func:`mmris.deployment.predict_with`)."""
        if self.ort is not None:
            from mmris.deployment import predict_with
            return predict_with(self.model, self.ort, inputs)
        return self.model.test_step(inputs)

    def count_tokens(self, texts: Sequence[str]) -> Optional[List[int]]:
        """Tokens each sentence needs in the model's text encoder (None if it cannot say)."""
        encoder = getattr(self.model, 'text_encoder', None)
        if hasattr(encoder, 'count_tokens'):
            return list(encoder.count_tokens(list(texts)))
        tokenizer = getattr(encoder, 'tokenizer', None)
        if callable(tokenizer):  # a Hugging Face tokenizer (BERT)
            try:
                return [len(ids) for ids in tokenizer(list(texts))['input_ids']]
            except Exception:  # noqa: BLE001 - an unknown tokenizer: no length check
                return None
        return None

    def _check_lengths(self, preds: List[SegDataSample]) -> None:
        """Mark (and warn about) the sentences the text encoder cut."""
        word_len = getattr(getattr(self.model, 'text_encoder', None), 'word_len', None)
        counts = self.count_tokens([p.metainfo['text'] for p in preds])
        for i, pred in enumerate(preds):
            n = counts[i] if counts is not None else None
            cut = bool(n is not None and word_len is not None and n > word_len)
            pred.set_metainfo(dict(num_tokens=n, truncated=cut))
            if cut:
                warnings.warn(
                    f'sentence {pred.sent_id} of image {pred.input_index} '
                    f'("{pred.text}") is {n} tokens long, start and end tokens included, but '
                    f'the text encoder takes {word_len}: it was cut, the last {n - word_len} '
                    'tokens were not read', stacklevel=3)

    def visualize(self,
                  pairs: List[dict],
                  preds: List[SegDataSample],
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: float = 0,
                  img_out_dir: str = '',
                  opacity: float = 0.5) -> List[np.ndarray]:
        """Draw each pair's mask and sentence on its image.

        Args:
            pairs (list[dict]): The (image, sentence) pairs.
            preds (list[SegDataSample]): Their predictions.
            return_vis (bool): Return the drawings. Defaults to False.
            show (bool): Show them in a window. Defaults to False.
            wait_time (float): Seconds each one is shown. Defaults to 0.
            img_out_dir (str): Folder to write them to, as
                ``<image stem>_sent<sentence index>.png``. Defaults to '' (none written).
            opacity (float): Opacity of the mask. Defaults to 0.5.

        Returns:
            list[np.ndarray]: The RGB drawings when ``return_vis``, else [].
        """
        if not (return_vis or show or img_out_dir):
            return []
        if self.visualizer is None:
            raise ValueError('drawing needs a `visualizer` in the config '
                             "(e.g. dict(type='RISLocalVisualizer'))")
        self.visualizer.alpha = opacity
        results, cache = [], {}
        for pair, pred in zip(pairs, preds):
            key = pair['input_index']
            if key not in cache:  # read each image once for all its sentences
                cache = {key: mmcv.bgr2rgb(load_ris_image(pair['img'], pair['name']))}
            name = ris_file_stem(pair['stem'], sent_id=pair['sent_id'])
            out_file = osp.join(img_out_dir, f'{name}.png') if img_out_dir else None
            self.visualizer.add_datasample(
                name, cache[key], pred, draw_gt=False, draw_pred=True, show=show,
                wait_time=wait_time, out_file=out_file)
            self._num_vis += 1
            if return_vis:
                results.append(self.visualizer.get_image())
        return results

    def postprocess(self,
                    preds: List[SegDataSample],
                    visualization: List[np.ndarray],
                    return_datasample: bool = False,
                    pred_out_dir: str = '') -> Dict[str, list]:
        """Masks and scores (or the data samples), and the masks written as PNG files.

        Args:
            preds (list[SegDataSample]): Predictions.
            visualization (list[np.ndarray]): Drawings.
            return_datasample (bool): Return the samples themselves. Defaults to False.
            pred_out_dir (str): Folder for ``<image stem>_sent<sentence index>.png``
                masks (0 / 255). Defaults to '' (none written).

        Returns:
            dict: ``predictions`` and ``visualization``; see :meth:`__call__`.
        """
        out = []
        for pred in preds:
            mask = pred.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            if pred_out_dir:
                mmengine.mkdir_or_exist(pred_out_dir)
                name = ris_file_stem(pred.stem, sent_id=pred.sent_id)
                mmcv.imwrite(mask * 255, osp.join(pred_out_dir, f'{name}.png'))
            if return_datasample:
                out.append(pred)
                continue
            prob = pred.seg_logits.data[0].float().sigmoid()
            fg = pred.pred_sem_seg.data[0].bool()
            score = prob[fg].mean() if fg.any() else prob.max()
            out.append(dict(mask=mask, score=float(score), text=pred.text,
                            input_index=pred.input_index, sent_id=pred.sent_id,
                            img_path=pred.metainfo.get('img_path'),
                            num_tokens=pred.num_tokens, truncated=pred.truncated))
        return dict(predictions=out, visualization=visualization)

    def _init_visualizer(self, cfg: Config) -> Any:
        """The config's visualizer, without its storage backends: the inferencer writes
        its drawings to the files it names."""
        if 'visualizer' not in cfg:
            return None
        cfg = copy.deepcopy(cfg)
        cfg.visualizer.pop('vis_backends', None)
        cfg.visualizer.pop('save_dir', None)
        return super()._init_visualizer(cfg)

    def _init_collate(self, cfg: Config) -> Any:
        from mmengine.dataset import pseudo_collate
        return pseudo_collate
