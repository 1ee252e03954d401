"""Registries of mmris.

Every registry kind that MMSegmentation defines has a child here, with mmseg's registry as
parent, so that under ``default_scope = 'mmris'`` a config builds mmris types *and* mmseg's and
mmengine's (``SegDataPreProcessor``, ``SegVisualizationHook``, ``IterBasedTrainLoop``, ...).
``locations`` name the modules that register into each one; mmseg's own locations are listed
too, because a child registry looks up its parents' tables without importing their modules.
"""
from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import INFERENCERS as MMSEG_INFERENCERS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import \
    RUNNER_CONSTRUCTORS as MMSEG_RUNNER_CONSTRUCTORS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TASK_UTILS as MMSEG_TASK_UTILS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import \
    WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS

_ENGINE = ['mmris.engine', 'mmseg.engine']


def _child(name: str, parent: Registry, locations: list) -> Registry:
    return Registry(name, parent=parent, scope='mmris', locations=locations)


RUNNERS = _child('runner', MMSEG_RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _child('runner constructor', MMSEG_RUNNER_CONSTRUCTORS, _ENGINE)
LOOPS = _child('loop', MMSEG_LOOPS, _ENGINE)
HOOKS = _child('hook', MMSEG_HOOKS, _ENGINE)
DATASETS = _child('dataset', MMSEG_DATASETS, ['mmris.datasets', 'mmseg.datasets'])
DATA_SAMPLERS = _child('data sampler', MMSEG_DATA_SAMPLERS,
                       ['mmris.datasets', 'mmseg.datasets'])
TRANSFORMS = _child('transform', MMSEG_TRANSFORMS,
                    ['mmris.datasets.transforms', 'mmseg.datasets.transforms'])
MODELS = _child('model', MMSEG_MODELS, ['mmris.models', 'mmseg.models'])
MODEL_WRAPPERS = _child('model_wrapper', MMSEG_MODEL_WRAPPERS,
                        ['mmris.engine', 'mmris.models', 'mmseg.models'])
WEIGHT_INITIALIZERS = _child('weight initializer', MMSEG_WEIGHT_INITIALIZERS,
                             ['mmris.models', 'mmseg.models'])
OPTIMIZERS = _child('optimizer', MMSEG_OPTIMIZERS, _ENGINE)
OPTIM_WRAPPERS = _child('optim_wrapper', MMSEG_OPTIM_WRAPPERS, _ENGINE)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMSEG_OPTIM_WRAPPER_CONSTRUCTORS, _ENGINE)
PARAM_SCHEDULERS = _child('parameter scheduler', MMSEG_PARAM_SCHEDULERS, _ENGINE)
METRICS = _child('metric', MMSEG_METRICS, ['mmris.evaluation', 'mmseg.evaluation'])
EVALUATOR = _child('evaluator', MMSEG_EVALUATOR, ['mmris.evaluation', 'mmseg.evaluation'])
TASK_UTILS = _child('task util', MMSEG_TASK_UTILS, ['mmris.models', 'mmseg.models'])
VISUALIZERS = _child('visualizer', MMSEG_VISUALIZERS,
                     ['mmris.visualization', 'mmseg.visualization'])
VISBACKENDS = _child('vis_backend', MMSEG_VISBACKENDS,
                     ['mmris.visualization', 'mmseg.visualization'])
LOG_PROCESSORS = _child('log_processor', MMSEG_LOG_PROCESSORS, _ENGINE)
INFERENCERS = _child('inferencer', MMSEG_INFERENCERS, ['mmris.apis'])

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS',
    'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS',
    'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'INFERENCERS'
]
