import logging
import os
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.test import TestCase
from django.utils import translation
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError
from pretix.base.models import Event, Organizer, User
from rest_framework.test import APIClient

from pretix_grants.models import Grant

from .browser import (  # NOQA: F401 (the browser tests' fixtures)
    browser_page, desktop_page, site,
)
from .catalogues import catalogues

# The real-stack suite needs its own settings (a Celery worker, Redis, SMTP): `make test-stack` runs it.
collect_ignore = [] if os.environ.get('DJANGO_SETTINGS_MODULE') == 'tests.stack.settings' else ['stack']


def pytest_sessionstart(session):
    # pages and mails are read in the grantee's language: the .mo files must match the .po files (as `make` does)
    catalogues.compile_outdated()


class _ScopeErrors(logging.Handler):
    """The plugin's guarded receivers log their failures instead of raising: a scope error among them fails the test."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.found = []

    def emit(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        text = f'{record.getMessage()} {exc!r}'
        if isinstance(exc, ScopeError) or 'DisabledQuerySet' in text or 'needs to be active' in text:
            self.found.append(f'{record.name}: {text}')


@pytest.fixture(autouse=True)
def _no_scope_error_swallowed():
    """Production's conditions hold only if no receiver of the plugin failed for want of a scope on the way."""
    handler = _ScopeErrors()
    logger = logging.getLogger('pretix_grants')
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert handler.found == [], 'a receiver of the plugin failed for want of a scope'


@pytest.fixture(autouse=True)
def _clean_outbox():
    djmail.outbox = []


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a page rendered in the test's thread leaves its own active."""
    yield
    translation.deactivate()


@pytest.fixture
@scopes_disabled()
def organizer(db):
    return Organizer.objects.create(name='PyConf', slug='pyconf')


@pytest.fixture
@scopes_disabled()
def event(organizer):
    e = Event.objects.create(
        organizer=organizer, name='PyConf 2027', slug='2027', currency='EUR',
        date_from=now() + timedelta(days=60), date_to=now() + timedelta(days=62),
        plugins='pretix_grants', live=True,
    )
    e.settings.locales = ['en', 'de']
    e.settings.locale = 'en'
    return e


@pytest.fixture
@scopes_disabled()
def item(event):
    return event.items.create(name='Conference ticket', default_price=Decimal('200.00'), admission=True)


@pytest.fixture
@scopes_disabled()
def quota(event, item):
    q = event.quotas.create(name='Tickets', size=100)
    q.items.add(item)
    return q


@pytest.fixture
@scopes_disabled()
def grant_settings(event, item, quota):
    event.settings.grants_voucher_item = item.pk
    return event.settings


@pytest.fixture
@scopes_disabled()
def user(db):
    return User.objects.create_user('organizer@example.org', 'organizer')


@pytest.fixture
@scopes_disabled()
def make_grant(event):
    counter = iter(range(1, 100000))

    @scopes_disabled()
    def make(status=Grant.STATUS_PENDING, **kwargs):
        n = next(counter)
        kwargs.setdefault('name', f'Grantee {n}')
        kwargs.setdefault('email', f'grantee{n}@example.org')
        kwargs.setdefault('travel_amount', Decimal('300.00'))
        if status == Grant.STATUS_APPROVED:
            kwargs.setdefault('reply_deadline', now() + timedelta(days=14))
        return Grant.objects.create(event=event, status=status, **kwargs)

    return make


@pytest.fixture
@scopes_disabled()
def approved_grant(make_grant, grant_settings):
    return make_grant(Grant.STATUS_APPROVED, name='Ada Lovelace', email='ada@example.org')


def api_client_for(team):
    """pretix's REST API as this team's token sees it."""
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION='Token ' + team.tokens.create(name='t').token)
    return c


@pytest.fixture
@scopes_disabled()
def api_team(organizer):
    return organizer.teams.create(name='API', all_events=True, all_event_permissions=True)


@pytest.fixture
def api(api_team):
    return api_client_for(api_team)


def mails_to(address):
    return [m for m in djmail.outbox if address in m.to]


def event_scope(event):
    """
    The organizer's scope, as pretix's middleware sets it for a request and its event tasks for their work: for
    the plugin's code a test calls directly where production calls it in a request or an event's task.
    """
    return scope(organizer=event.organizer)


@contextmanager
def committed(organizer=None, *, scopes_off=False):
    """
    Run what an action queued for after its commit (the voucher task), as the real commit would. The real commit
    runs it inside the action's own scope: give the ``organizer`` when the body is a request or a call under
    ``scope(organizer=...)`` (the test client's scope has ended when the block does), ``scopes_off=True`` when the
    body disables scopes itself (a management command, a cron receiver); with neither the callbacks run in the
    scope active where the block ends.
    """
    with TestCase.captureOnCommitCallbacks() as callbacks:
        yield callbacks
    if organizer is not None:
        active = scope(organizer=organizer)
    else:
        active = scopes_disabled() if scopes_off else nullcontext()
    with active:
        with TestCase.captureOnCommitCallbacks(execute=True):  # and what those queue in turn
            for callback in list(callbacks):
                callback()


# fixtures of the control panel's tests
from .control.conftest import (  # NOQA: E402,F401
    admin_client, admin_team, manager, manager_client, outsider, team_member,
    viewer,
)
# fixtures of the invitation letters' tests
from .letters.conftest import (  # NOQA: E402,F401
    grantee, letter_event, requested_letter, ticket_order,
)

# fixtures of the reimbursement claims' tests
from .claims.conftest import claim_grant, past_event  # NOQA: E402,F401  isort:skip
