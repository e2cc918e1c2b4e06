"""
Offering travel support from the speakers page in a real browser, against the real pretalx: the organizer ticks two
speakers and presses the button; the page says what it did and links each speaker's new grant. axe finds nothing in
the page's content.
"""
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from pretix_grants.models import Grant

from ..a11y import axe_findings
from ..browser import log_in, needs_chromium, scroll_width
from .helpers import speaker

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def control(site, admin_team, user, connected, pretalx):
    connected.settings.grants_speakers_support_travel = Decimal('400.00')
    return site


def test_an_organizer_offers_travel_support_to_two_speakers(desktop_page, control, event, pretalx):
    page, errors, shoot = desktop_page
    log_in(page, control)
    page.goto(f'{control}/control/event/{event.organizer.slug}/{event.slug}/grants/speakers/')
    page.get_by_role('button', name='Sync now').click()
    expect(page.get_by_text('Sync done: 7 vouchers issued')).to_be_visible()
    page.get_by_label('Offer travel support to Speaker 1').check()
    page.get_by_label('Offer travel support to Speaker 3').check()
    shoot('speakers-chosen')
    assert axe_findings(page, '#grants-speakers') == []
    page.get_by_role('button', name='Offer travel support to the chosen speakers').click()

    expect(page.get_by_text('2 travel grants created')).to_be_visible()
    expect(page.get_by_role('link', name='Speaker support: pending')).to_have_count(2)
    shoot('speakers-support-offered')
    assert axe_findings(page, '#grants-speakers') == []
    width, viewport = scroll_width(page)
    assert width == viewport
    page.get_by_role('link', name='Speaker support: pending').first.click()
    expect(page.get_by_text('Speaker support')).to_be_visible()
    with scopes_disabled():
        assert sorted(Grant.objects.filter(event=event, grant_type=Grant.TYPE_SPEAKER).values_list(
            'email', flat=True)) == [speaker(event, pretalx, 1).email, speaker(event, pretalx, 3).email]
    assert errors == []
