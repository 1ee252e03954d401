from .checkpoint import mmengine_safe_globals, register_safe_globals
from .runtime import setup_runtime, teardown_runtime
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'register_safe_globals', 'mmengine_safe_globals', 'setup_runtime',
    'teardown_runtime'
]
