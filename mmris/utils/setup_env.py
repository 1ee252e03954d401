"""Registration of all mmris (and mmseg) modules and the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module that registers into the mmris registries (and mmseg's, which are
    their parents), and optionally make ``mmris`` the default scope.

    Args:
        init_default_scope (bool): Whether to set ``mmris`` as the current default scope.
            Defaults to True.
    """
    import mmseg.datasets  # noqa: F401,F403
    import mmseg.engine  # noqa: F401,F403
    import mmseg.evaluation  # noqa: F401,F403
    import mmseg.models  # noqa: F401,F403
    import mmseg.visualization  # noqa: F401,F403

    import mmris.apis  # noqa: F401,F403
    import mmris.datasets  # noqa: F401,F403
    import mmris.engine  # noqa: F401,F403
    import mmris.evaluation  # noqa: F401,F403
    import mmris.models  # noqa: F401,F403
    import mmris.visualization  # noqa: F401,F403

    if init_default_scope:
        never_created = DefaultScope.get_current_instance() is None \
            or not DefaultScope.check_instance_created('mmris')
        if never_created:
            DefaultScope.get_instance('mmris', scope_name='mmris')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'mmris':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "mmris", '
                          '`register_all_modules` will force the current '
                          'default scope to be "mmris". If this is not '
                          'expected, please set `init_default_scope=False`.')
            # avoid name conflict
            new_instance_name = f'mmris-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_instance_name, scope_name='mmris')
