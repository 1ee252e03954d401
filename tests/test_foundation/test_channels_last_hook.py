import types

import torch
from torch import nn

from mmris.engine import ChannelsLastHook


def test_channels_last_hook_keeps_values_and_parameters():
    """before_run puts every 4-D weight in channels-last, in place (the optimizer's parameter
    objects stay the model's), with the same values and the same outputs."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 4, 3),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    x = torch.randn(2, 3, 10, 10)
    ref = model.eval()(x)
    params = list(model.parameters())
    values = [p.detach().clone() for p in params]
    ChannelsLastHook().before_run(types.SimpleNamespace(model=model))
    convs = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(w.is_contiguous(memory_format=torch.channels_last) and
               not w.is_contiguous() for w in convs)
    assert all(a is b for a, b in zip(params, model.parameters()))
    for p, v in zip(model.parameters(), values):
        torch.testing.assert_close(p, v)
    out = model(x)
    torch.testing.assert_close(out, ref)
