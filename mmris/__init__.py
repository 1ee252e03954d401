"""mmris: referring image segmentation on the OpenMMLab stack."""
import mmcv
import mmengine
from mmengine.utils import digit_version

from .version import __version__

MMCV_MIN, MMCV_MAX = '2.1.0', '2.2.0'
MMENGINE_MIN, MMENGINE_MAX = '0.10.7', '1.0.0'
MMSEG_MIN, MMSEG_MAX = '1.2.2', '1.3.0'


def _check(name: str, version: str, low: str, high: str, how: str) -> None:
    if not digit_version(low) <= digit_version(version) < digit_version(high):
        raise ImportError(
            f'mmris {__version__} needs {name}>={low},<{high}, but {name}=={version} is '
            f'installed. {how}')


_HOW = 'Run `bash tools/install.sh` from the mmris checkout (docs/get_started.md).'
_check('mmcv', mmcv.__version__, MMCV_MIN, MMCV_MAX,
       'Install mmcv==2.1.0 with its compiled ops: ' + _HOW)
_check('mmengine', mmengine.__version__, MMENGINE_MIN, MMENGINE_MAX,
       'Install mmengine==0.10.7: ' + _HOW)
try:
    import mmseg
except ImportError as e:  # pragma: no cover - message only
    raise ImportError(f'mmris needs mmsegmentation==1.2.2 ({e}). ' + _HOW) from e
_check('mmseg', mmseg.__version__, MMSEG_MIN, MMSEG_MAX,
       'Install mmsegmentation==1.2.2: ' + _HOW)

from .utils.checkpoint import register_safe_globals  # noqa: E402

register_safe_globals()

__all__ = ['__version__']
