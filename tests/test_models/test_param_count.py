import pytest
import torch

from mmris.registry import MODELS
from .helpers import model_cfg


@pytest.mark.parametrize('name, official', [('cris_r50', 146.85e6), ('cris_r101', 161.25e6)])
def test_full_size_parameter_count(name, official):
    """Whole model, CLIP towers included, as counted by the authors (no weights loaded)."""
    with torch.device('meta'):
        model = MODELS.build(model_cfg(name))
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - official) / official < 1e-3, n
    # the CLIP towers are most of it
    clip = sum(p.numel() for k, p in model.named_parameters()
               if k.startswith(('backbone.visual.', 'text_encoder.text.')))
    assert clip > 0.6 * n
