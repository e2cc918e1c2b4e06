"""
The speakers page in a real browser, against the real pretalx: an organizer opens it from the sidebar, enters the
connection, saves, tests the connection and syncs; the speakers and their vouchers are listed.

Debian's chromium with Playwright (tests/browser.py): console errors, page errors and 4xx/5xx answers fail the test;
axe finds nothing in the page's content; every step leaves a screenshot in the test's tmp_path.
"""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from pretix_grants.models import Speaker

from ..a11y import axe_findings
from ..browser import log_in, needs_chromium, scroll_width

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def control(site, admin_team, user, event, grant_settings, pretalx):
    return site


def test_an_organizer_connects_pretalx_tests_the_connection_and_syncs(desktop_page, control, event, pretalx):
    page, errors, shoot = desktop_page
    log_in(page, control)
    page.goto(f'{control}/control/event/{event.organizer.slug}/{event.slug}/grants/')
    page.locator('#side-menu a', has_text='Speakers from pretalx').click()
    expect(page.get_by_role('heading', name='Speakers from pretalx')).to_be_visible()
    page.get_by_label('pretalx URL').fill(pretalx.url)
    page.get_by_label('pretalx event slug').fill(pretalx.event)
    page.get_by_label('pretalx API token').fill(pretalx.token)
    shoot('speakers-settings')
    found = axe_findings(page, '#grants-speakers')
    assert found == [], '\n'.join(found)
    page.locator('button.btn-save').click()
    expect(page.get_by_text('A token is saved.')).to_be_visible()
    page.get_by_role('button', name='Test connection').click()
    expect(page.get_by_text('Connected to "PyConf 2027": 2 accepted and 2 confirmed talks, 7 speakers.')).to_be_visible()
    shoot('speakers-tested')
    found = axe_findings(page, '#grants-speakers')
    assert found == [], '\n'.join(found)
    page.get_by_role('button', name='Sync now').click()
    expect(page.get_by_text('Sync done: 7 vouchers issued')).to_be_visible()
    expect(page.get_by_role('cell', name='speaker3@example.org')).to_be_visible()
    shoot('speakers-synced')
    found = axe_findings(page, '#grants-speakers')
    assert found == [], '\n'.join(found)
    width, viewport = scroll_width(page)
    assert width == viewport
    with scopes_disabled():
        assert Speaker.objects.filter(event=event, state=Speaker.STATE_ISSUED).count() == 7
    assert errors == []
