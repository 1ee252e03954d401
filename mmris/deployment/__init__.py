"""Deployment: ONNX export of the network and running it with onnxruntime."""
from .onnx_export import (DEFAULT_OPSET, INPUT_NAMES, RISTensorModel, example_inputs,
                          export_onnx, tokenize, trace_patches)
from .onnx_runtime import ORTSegmentor, predict_with, quantize_int8

__all__ = [
    'DEFAULT_OPSET', 'INPUT_NAMES', 'RISTensorModel', 'example_inputs', 'export_onnx',
    'tokenize', 'trace_patches', 'ORTSegmentor', 'predict_with', 'quantize_int8'
]
