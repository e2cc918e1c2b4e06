"""
The insights tests run as production does: no suite-wide scopes_disabled(); only the fixtures' and assertions' own
queries are wrapped in it.
"""
import pytest


@pytest.fixture(autouse=True)
def _no_scopes():
    yield
