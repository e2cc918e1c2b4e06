import pytest


@pytest.fixture(autouse=True)
def _no_scopes():
    """Requests run as in production, with the scope pretix's middleware sets; fixtures disable it for themselves."""
    yield
