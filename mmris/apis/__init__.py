from .ris_inferencer import CheckpointMismatchError, RISInferencer, load_ris_image

__all__ = ['RISInferencer', 'CheckpointMismatchError', 'load_ris_image']
