"""Running an exported referring segmentor with onnxruntime, and the prediction path that
every backend shares (preprocessing, tokenization and post-processing in PyTorch code)."""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .onnx_export import tokenize

# (img, tokens, pad_mask or None) -> B, 1, h, w logits
LogitsFn = Callable[[Tensor, Tensor, Optional[Tensor]], Tensor]


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('the onnxruntime backend needs `onnxruntime` '
                          '(pip install -e ".[deploy]")') from e
    return onnxruntime


class ORTSegmentor:
    """An exported segmentor (``tools/deployment/pytorch2onnx.py``) in an onnxruntime
    session: ``(img, tokens, pad_mask) -> logits`` as :class:`RISTensorModel`.

    Args:
        onnx_file (str): The ``.onnx`` file.
        providers (Sequence[str]): Execution providers. Defaults to CPU.
        threads (int, optional): Intra-op threads (onnxruntime's default when None).
    """

    def __init__(self, onnx_file: str,
                 providers: Sequence[str] = ('CPUExecutionProvider', ),
                 threads: Optional[int] = None) -> None:
        ort = _onnxruntime()
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'no such ONNX file: {onnx_file!r}')
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.onnx_file = onnx_file
        self.session = ort.InferenceSession(onnx_file, options, providers=list(providers))
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.metadata: Dict[str, str] = {
            k[len('mmris_'):]: v for k, v in
            self.session.get_modelmeta().custom_metadata_map.items() if k.startswith('mmris_')}

    def check_model(self, model: nn.Module) -> None:
        """Raise a ValueError naming the file when the graph's input size or sentence
        length is not the config's (the file was exported from another config)."""
        size = getattr(model.data_preprocessor, 'size', None)
        want = dict(input_size=f'{size[1]},{size[0]}' if size else None,
                    word_len=str(getattr(model.text_encoder, 'word_len', None)))
        for key, value in want.items():
            have = self.metadata.get(key)
            if have is not None and value is not None and have != value:
                raise ValueError(
                    f'{self.onnx_file}: exported with {key} {have}, but the config gives '
                    f'{value}: export it again from this config '
                    '(tools/deployment/pytorch2onnx.py)')

    def __call__(self, img: Tensor, tokens: Tensor, pad_mask: Optional[Tensor] = None) -> Tensor:
        feeds = dict(img=img.detach().float().cpu().numpy(),
                     tokens=tokens.detach().cpu().numpy().astype(np.int64))
        if pad_mask is not None:
            feeds['pad_mask'] = pad_mask.detach().cpu().numpy().astype(bool)
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise ValueError(f'{self.onnx_file} takes inputs {missing} that this text '
                             'encoder does not give: export it again from this config')
        (logits, ) = self.session.run(None, {n: feeds[n] for n in self.input_names})
        return torch.from_numpy(logits).to(img.device)


def predict_with(model: nn.Module, logits_fn: LogitsFn, data: dict,
                 channels_last: bool = False) -> List:
    """``model.test_step(data)`` with the network replaced by ``logits_fn``.

    The data preprocessor, the tokenizer and ``postprocess_result`` of ``model`` run as
    in its ``predict``; only the tensors-to-logits part is ``logits_fn`` (an onnxruntime
    session, a compiled :class:`RISTensorModel`, ...).

    Args:
        model (nn.Module): The ReferringEncoderDecoder (its pre/post-processing is used).
        logits_fn (callable): ``(img, tokens, pad_mask) -> B, 1, h, w`` logits.
        data (dict): A collated batch (``inputs``, ``data_samples``).
        channels_last (bool): Hand ``logits_fn`` the images in channels-last memory
            format. Defaults to False.

    Returns:
        list[SegDataSample]: With ``seg_logits`` and ``pred_sem_seg``.
    """
    data = model.data_preprocessor(data, False)
    img, samples = data['inputs'], data['data_samples']
    if channels_last:
        img = img.contiguous(memory_format=torch.channels_last)
    tokens, pad = tokenize(model, [s.metainfo['text'] for s in samples])
    logits = logits_fn(img, tokens, pad)
    return model.postprocess_result(logits.float(), samples, img.shape[-2:])


def quantize_int8(onnx_file: str, out_file: str) -> str:
    """onnxruntime's dynamic int8 quantization (int8 weights of MatMul / Gemm / Conv...,
    activations quantized at run time) of ``onnx_file`` into ``out_file``."""
    _onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(onnx_file, out_file, weight_type=QuantType.QInt8)
    return out_file


__all__ = ['ORTSegmentor', 'predict_with', 'quantize_int8']
