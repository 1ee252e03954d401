import pytest

from .helpers import model_cfg


@pytest.fixture(scope='session')
def tiny_cfg() -> dict:
    return model_cfg('cris_tiny')
