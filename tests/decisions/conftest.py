"""The decisions' tests run without the suite-wide scopes_disabled(): pretix's middleware sets the scope."""
import pytest


@pytest.fixture(autouse=True)
def _no_scopes():
    yield
