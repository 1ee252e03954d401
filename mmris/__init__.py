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


def _register_config_scope() -> None:
    """Let mmengine resolve ``mmris::`` config bases and model names.

    mmengine 0.10.7 only knows the OpenMMLab packages in ``MODULE2PACKAGE`` (so ``mmris::``
    fails its assertion), and finds a package's ``.mim`` through ``pkg_resources``, which
    points at ``site-packages/mmris`` even for an editable install (where no such folder
    exists). Here ``mmris`` is added to the table, and the config module's package lookup
    answers this package's own folder for ``mmris``.
    """
    import os.path as osp

    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils

    config_utils.MODULE2PACKAGE.setdefault('mmris', 'mmris')
    lookup = config_module.get_installed_path
    if getattr(lookup, 'mmris_aware', False):
        return
    here = osp.dirname(osp.abspath(__file__))

    def get_installed_path(package: str) -> str:
        return here if package == 'mmris' else lookup(package)

    get_installed_path.mmris_aware = True
    config_module.get_installed_path = get_installed_path


_register_config_scope()

__all__ = ['__version__']
