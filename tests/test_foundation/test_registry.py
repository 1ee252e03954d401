import mmseg.registry as mmseg_registry
import pytest
from mmengine.registry import DefaultScope, Registry

import mmris.registry as mmris_registry
from mmris.utils import register_all_modules


def _registries(module):
    return {name: obj for name, obj in vars(module).items() if isinstance(obj, Registry)}


def test_every_mmseg_registry_has_an_mmris_child():
    ours = _registries(mmris_registry)
    for name, parent in _registries(mmseg_registry).items():
        assert name in ours, f'mmris.registry lacks {name}'
        child = ours[name]
        assert child.parent is parent, name
        assert child.scope == 'mmris'
        assert child.name == parent.name
        assert any(loc.startswith('mmris.') for loc in child._locations), name


@pytest.fixture
def mmris_scope():
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmris'):
        yield


def test_scope_builds_mmris_mmseg_and_mmengine_types(mmris_scope):
    from mmengine.evaluator import Evaluator
    from mmengine.optim import MultiStepLR
    from mmseg.models import SegDataPreProcessor
    from mmseg.visualization import SegLocalVisualizer

    metric = mmris_registry.METRICS.build(dict(type='ReferMetric'))
    assert type(metric).__module__.startswith('mmris.')
    pre = mmris_registry.MODELS.build(
        dict(type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.]))
    assert isinstance(pre, SegDataPreProcessor)
    vis = mmris_registry.VISUALIZERS.build(
        dict(type='SegLocalVisualizer', name='test_scope_vis'))
    assert isinstance(vis, SegLocalVisualizer)
    assert mmris_registry.LOOPS.get('IterBasedTrainLoop') is not None
    assert mmris_registry.HOOKS.get('SegVisualizationHook') is not None
    evaluator = mmris_registry.EVALUATOR.build(dict(type='Evaluator', metrics=[]))
    assert isinstance(evaluator, Evaluator)
    import torch
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = mmris_registry.PARAM_SCHEDULERS.build(
        dict(type='MultiStepLR', milestones=[1]), default_args=dict(optimizer=opt))
    assert isinstance(sched, MultiStepLR)


def test_register_all_modules_sets_scope():
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmris'
