from .checkpoint import (CheckpointReadError, UnsafeCheckpointError, load_checkpoint_file,
                         mmengine_safe_globals, register_safe_globals)
from .runtime import setup_runtime, teardown_runtime
from .safe_pickle import UnsafePickleError, load_data_pickle
from .setup_env import register_all_modules
from .state_dict import (CheckpointMismatchError, compare_state_dicts, load_model_state,
                         mismatch_message, some_keys)

__all__ = [
    'register_all_modules', 'register_safe_globals', 'mmengine_safe_globals', 'setup_runtime',
    'teardown_runtime', 'load_checkpoint_file', 'UnsafeCheckpointError', 'CheckpointReadError',
    'load_data_pickle', 'UnsafePickleError', 'CheckpointMismatchError', 'compare_state_dicts',
    'load_model_state', 'mismatch_message', 'some_keys'
]
