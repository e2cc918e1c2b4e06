"""
The speaker tests run against a real pretalx (``pretalx_server.PretalxServer``): built, migrated and filled once per
session, reset to its first data before each test, stopped at the end.
"""
import pytest
from django_scopes import scopes_disabled

from .pretalx_server import PretalxServer


@pytest.fixture(autouse=True)
def _loopback(settings):
    # the test pretalx is on loopback: pretix refuses private addresses unless pretix.cfg allows them
    settings.ALLOW_HTTP_TO_PRIVATE_NETWORKS = True


@pytest.fixture(scope='session')
def pretalx_server():
    server = PretalxServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def pretalx(pretalx_server):
    """The session's pretalx, with the data ``setup`` made (talks in several states), serving."""
    pretalx_server.reset()
    pretalx_server.start()
    yield pretalx_server
    pretalx_server.start()


@pytest.fixture
@scopes_disabled()
def connected(event, grant_settings, pretalx):
    """The event connected to the pretalx event; further speakers get 25 % off (the defaults)."""
    s = event.settings
    s.grants_pretalx_url = pretalx.url
    s.grants_pretalx_event = pretalx.event
    s.grants_pretalx_token = pretalx.token
    return event
