"""The network of a referring segmentor as tensors in, logits out: what ONNX exports.

Tokenization, the resize / letterbox of the test pipeline, normalisation (the data
preprocessor) and the post-processing (upsampling, undoing the letterbox, thresholding) are
not in the graph: every backend runs them in the same Python code as the PyTorch path
(:func:`mmris.deployment.predict_with`).
"""
import os.path as osp
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

# Text encoders whose ``tokenize`` returns (ids, attention mask) take the padding mask as a
# graph input; CLIP's derives it from the end-of-text token inside the graph, as in PyTorch.
INPUT_NAMES = ('img', 'tokens', 'pad_mask')
OUTPUT_NAMES = ('logits', )
DEFAULT_OPSET = 17  # LayerNormalization is a single node; GridSample (opset 16) for MagNet
EXAMPLE_TEXTS = ('the man on the left', 'a red car')


def tokenize(model: nn.Module, texts: Sequence[str]) -> Tuple[Tensor, Optional[Tensor]]:
    """Token ids (B, L, long) and padding mask (B, L, bool, True = padding, or None when
    the text encoder derives it from the ids), by the model's text encoder.

    Args:
        model (nn.Module): A :class:`ReferringEncoderDecoder`.
        texts (Sequence[str]): B sentences (as the test pipeline cleaned them).
    """
    out = model.text_encoder.tokenize(list(texts))
    if isinstance(out, tuple):  # (ids, attention mask 1 = token): BERT
        tokens, attention = out
        return tokens, attention == 0
    return out, None


class RISTensorModel(nn.Module):
    """A referring segmentor from tensors to B, 1, h, w logits at the head's resolution.

    The segmentor's ``tensor`` mode (``encode_decode``) with the text given as token ids
    instead of sentences: ``forward(img, tokens[, pad_mask])``.

    Args:
        segmentor (nn.Module): A :class:`ReferringEncoderDecoder` (in eval mode).
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        self.segmentor = segmentor

    def forward(self, img: Tensor, tokens: Tensor, pad_mask: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            img (Tensor): B, 3, H, W, normalised (after the data preprocessor).
            tokens (Tensor): B, L token ids (int64).
            pad_mask (Tensor, optional): B, L, True = padding (BERT-style encoders).

        Returns:
            Tensor: B, 1, h, w logits.
        """
        model = self.segmentor
        text_in = tokens if pad_mask is None else (tokens, (~pad_mask).long())
        x, text = model.extract_feat_text(img, model.text_encoder(text_in))
        return model.decode_head(x, text)


def example_inputs(model: nn.Module, batch_size: int = 2,
                   texts: Sequence[str] = EXAMPLE_TEXTS) -> List[Tensor]:
    """Inputs of the model's input size (``data_preprocessor.size``), for tracing / tests."""
    size = getattr(model.data_preprocessor, 'size', None)
    if not size:
        raise ValueError('the model\'s data_preprocessor has no fixed `size`: the exported '
                         'graph needs one input size (set model.data_preprocessor.size)')
    h, w = size[1], size[0]  # mmseg's size is (w, h)
    texts = [texts[i % len(texts)] for i in range(batch_size)]
    tokens, pad = tokenize(model, texts)
    img = torch.randn(batch_size, 3, h, w, generator=torch.Generator().manual_seed(0))
    return [img, tokens] + ([pad] if pad is not None else [])


def _window_reverse(self, windows: Tensor, H: int, W: int) -> Tensor:
    """mmseg's ``ShiftWindowMSA.window_reverse`` without its ``int(batch)``, which the
    tracer would freeze to the traced batch size. num_windows*B, ws, ws, C -> B, H, W, C."""
    ws, C = self.window_size, windows.shape[-1]
    x = windows.view(-1, H // ws, W // ws, ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)


@contextmanager
def trace_patches():
    """Swap in trace-safe versions of library functions that bake the batch size into the
    graph (mmseg's Swin window reverse), for the time of an export."""
    from mmseg.models.backbones.swin import ShiftWindowMSA
    original = ShiftWindowMSA.window_reverse
    ShiftWindowMSA.window_reverse = _window_reverse
    try:
        yield
    finally:
        ShiftWindowMSA.window_reverse = original


def export_onnx(model: nn.Module,
                out_file: str,
                opset: int = DEFAULT_OPSET,
                batch_size: int = 2,
                metadata: Optional[Dict[str, str]] = None) -> List[str]:
    """Export ``model`` (a ReferringEncoderDecoder, on CPU) to ``out_file``, batch dynamic.

    TorchScript-based ``torch.onnx.export(dynamo=False)`` under :func:`trace_patches`: the
    models' Python loops over level shapes trace to static graphs with a dynamic batch. The
    torch.export-based exporter (the default since torch 2.9) needs ``onnxscript`` and fails
    on MagNet (an assert of mmcv's deformable attention) and LAVT (docs/deploy.md). On CPU,
    mmcv's ``MultiScaleDeformableAttention`` runs (and so traces) its pure-PyTorch
    function.

    Args:
        model (nn.Module): The segmentor.
        out_file (str): Where to write the ``.onnx`` file.
        opset (int): ONNX opset. Defaults to 17.
        batch_size (int): Batch of the example inputs traced. Defaults to 2.
        metadata (dict, optional): Written into the model's ``metadata_props`` (with
            ``input_size``, ``word_len`` and ``text_inputs``).

    Returns:
        list[str]: The graph's input names.
    """
    import warnings

    import onnx
    model = model.eval().cpu()
    args = example_inputs(model, batch_size)
    names = list(INPUT_NAMES[:len(args)])
    axes = {n: {0: 'batch'} for n in names + list(OUTPUT_NAMES)}
    wrapper = RISTensorModel(model).eval()
    out_dir = osp.dirname(osp.abspath(out_file))
    if not osp.isdir(out_dir):
        raise FileNotFoundError(f'no such folder for the ONNX file: {out_dir!r}')
    with torch.no_grad(), warnings.catch_warnings(), trace_patches():
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        torch.onnx.export(
            wrapper, tuple(args), out_file, dynamo=False, opset_version=opset,
            input_names=names, output_names=list(OUTPUT_NAMES), dynamic_axes=axes,
            do_constant_folding=True)
    proto = onnx.load(out_file)
    meta = dict(metadata or {})
    meta.update(input_size=f'{args[0].shape[2]},{args[0].shape[3]}',
                word_len=str(args[1].shape[1]), text_inputs=','.join(names[1:]))
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f'mmris_{key}', str(value)
    onnx.save(proto, out_file)
    return [i.name for i in proto.graph.input]


__all__ = ['RISTensorModel', 'tokenize', 'example_inputs', 'export_onnx', 'trace_patches',
           'DEFAULT_OPSET', 'INPUT_NAMES']
