"""
Driving pretix's pages in Debian's chromium with Playwright: the launch, the checks every browser test makes and
the screenshots, shared by the grantee's, the applicant's and the organizer's browser tests.

Every page opened through ``open_page`` records what would tell a person something went wrong: a console error,
an uncaught exception in pretix's JavaScript, and any request answered 4xx or 5xx. A test asserts
``errors == []`` at its end. Screenshots go into the test's tmp_path and, if ``GRANTS_SCREENSHOTS`` names a
folder, are copied there too (the README's pictures are taken this way).
"""
import contextlib
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread
from playwright.sync_api import sync_playwright

CHROMIUM = next(
    (p for p in ('/usr/bin/chromium', shutil.which('chromium'), shutil.which('chromium-browser')) if p and os.path.exists(p)),
    None,
)
LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--no-first-run']
PHONE = {'width': 360, 'height': 740}
DESKTOP = {'width': 1280, 'height': 900}


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """
    The live server with a thread per connection, as Django's, but running the application for one request at a
    time. A connection the browser keeps open without a request never blocks the others.
    """

    def set_app(self, application):
        lock = threading.Lock()

        def one_at_a_time(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(one_at_a_time)


if 'sqlite' in django_settings.DATABASES['default']['ENGINE']:
    # SQLite's test database is one in-memory connection shared by every thread of the live server: pretix's pages
    # load parts of themselves in parallel (the dashboard's widgets and warnings), and two requests at once on that
    # one connection fail ("cannot start a transaction within a transaction"). PostgreSQL keeps Django's server.
    LiveServerThread.server_class = OneRequestAtATimeServer

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason='chromium not found: install it with `apt-get install -y chromium`',
)


def compressed_styles(settings):
    """pretix's styles compiled as in production, so pages are seen with their real layout and widths."""
    settings.COMPRESS_ENABLED = True
    settings.COMPRESS_PRECOMPILERS = settings.COMPRESS_PRECOMPILERS_ORIGINAL
    settings.COMPRESS_CACHE_BACKEND = 'default'


@pytest.fixture
def site(live_server, settings):
    """The live server's address, with mails linking to it and pretix's styles compiled as in production."""
    settings.SITE_URL = live_server.url
    compressed_styles(settings)
    return live_server.url


class Shooter:
    """Numbered screenshots of the whole page, in ``folder`` and, if set, in ``$GRANTS_SCREENSHOTS``."""

    def __init__(self, page, folder, prefix=''):
        self.page, self.folder, self.prefix = page, Path(folder), prefix
        self.n = 0
        self.extra = Path(os.environ['GRANTS_SCREENSHOTS']) if os.environ.get('GRANTS_SCREENSHOTS') else None

    def __call__(self, name, full_page=True):
        self.n += 1
        filename = f'{self.prefix}{self.n:02d}-{name}.png'
        path = self.folder / filename
        self.page.screenshot(path=str(path), full_page=full_page)
        if self.extra:
            self.extra.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.extra / filename)
        return path


def watch(page, errors):
    """Record console errors, page errors and 4xx/5xx answers of ``page`` in ``errors``."""
    page.on('console', lambda msg: errors.append(f'console: {msg.text}') if msg.type == 'error' else None)
    page.on('pageerror', lambda exc: errors.append(f'page error: {exc}'))
    page.on('response', lambda r: errors.append(f'HTTP {r.status}: {r.request.method} {r.url}')
            if r.status >= 400 else None)


@contextlib.contextmanager
def open_page(tmp_path, viewport, prefix=''):
    """Yields ``(page, errors, shoot)``; the browser is closed afterwards."""
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport=viewport, locale='en-US')
        page = context.new_page()
        page.set_default_timeout(20000)
        watch(page, errors)
        # pages opened from this one (a preview in a new tab) are watched the same way
        context.on('page', lambda new: watch(new, errors) if new is not page else None)
        try:
            yield page, errors, Shooter(page, tmp_path, prefix)
        finally:
            context.close()
            browser.close()
            # The ORM gets its own connection while Playwright's loop runs (Django's connections are per context):
            # close it, or the test database cannot be dropped at the end.
            connections.close_all()


def fits_the_screen(page):
    return page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')


def scroll_width(page):
    """The page's ``document.documentElement.scrollWidth`` and the viewport's width."""
    return page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')


def url_pattern(path):
    return re.compile(re.escape(path))


@pytest.fixture
def browser_page(monkeypatch, tmp_path):
    """A phone-sized page (360 px wide); yields (page, errors, shoot)."""
    # Playwright's sync API runs an event loop in this thread, and the tests also use the ORM.
    monkeypatch.setenv('DJANGO_ALLOW_ASYNC_UNSAFE', 'true')
    with open_page(tmp_path, PHONE) as opened:
        yield opened


@pytest.fixture
def desktop_page(monkeypatch, tmp_path):
    """A 1280 px wide page, the width the organizer's pages are made for; yields (page, errors, shoot)."""
    monkeypatch.setenv('DJANGO_ALLOW_ASYNC_UNSAFE', 'true')
    with open_page(tmp_path, DESKTOP) as opened:
        yield opened


def log_in(page, base, email='organizer@example.org', password='organizer'):
    """Through pretix's login form of the control panel, as an organizer signs in."""
    page.goto(f'{base}/control/login')
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password"]').fill(password)
    page.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r'/control/$'))
    # the dashboard loads its widgets with requests of their own: let them finish (one SQLite database for all)
    page.wait_for_load_state('networkidle')
