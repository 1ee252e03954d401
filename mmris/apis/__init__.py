from .ris_inferencer import CheckpointMismatchError, RISInferencer
from .ris_inputs import load_ris_image

__all__ = ['RISInferencer', 'CheckpointMismatchError', 'load_ris_image']
