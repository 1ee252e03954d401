import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmris.engine import BF16OptimWrapper, native_bf16
from mmris.utils import register_all_modules


def _wrapper(model: nn.Module, **kwargs) -> BF16OptimWrapper:
    register_all_modules(init_default_scope=True)
    cfg = dict(type='BF16OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2), **kwargs)
    return build_optim_wrapper(model, cfg)


@pytest.mark.parametrize('enabled', [True, False])
def test_forward_dtype_and_fp32_state(enabled):
    """The forward computes in bf16 under the wrapper's context (only there); parameters,
    gradients and AdamW's state stay fp32, and a step changes the weights."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    wrapper = _wrapper(model, enabled=enabled)
    assert isinstance(wrapper, BF16OptimWrapper)
    x = torch.randn(4, 8)
    before = model[0].weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == (torch.bfloat16 if enabled else torch.float32)
    assert model(x).dtype == torch.float32  # outside the context: fp32
    wrapper.update_params(out.float().pow(2).mean())
    assert all(p.dtype == torch.float32 and p.grad is None for p in model.parameters())
    state = wrapper.optimizer.state[model[0].weight]
    assert state['exp_avg'].dtype == torch.float32
    assert not torch.equal(before, model[0].weight)


def test_auto_follows_the_cpu():
    model = nn.Linear(4, 4)
    wrapper = _wrapper(model)  # enabled='auto' by default
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 4))
    assert out.dtype == (torch.bfloat16 if native_bf16('cpu') else torch.float32)


def test_bad_enabled():
    with pytest.raises(ValueError, match="enabled must be True, False or 'auto'"):
        _wrapper(nn.Linear(2, 2), enabled='yes')
