import pytest


@pytest.fixture(autouse=True)
def _no_scopes():
    """These tests run as production does: a scope only where pretix's middleware or task sets one."""
    yield
