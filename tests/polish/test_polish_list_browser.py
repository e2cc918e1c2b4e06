"""The grant list at 1280 px in the browser: the applied date on one line, the Granted column, a bulk action sent
back with an error keeping the selection (through pretix's async task form)."""
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pretix_grants.models import Grant

from ..browser import log_in, needs_chromium, scroll_width

pytestmark = needs_chromium


@pytest.fixture
def control(site, admin_team, user, event, grant_settings):
    return site


def lines(page, selector):
    """How many lines the text of each element takes."""
    return page.evaluate('''(sel) => [...document.querySelectorAll(sel)].map(el => {
        const r = document.createRange(); r.selectNodeContents(el);
        return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;
    })''', selector)


@pytest.mark.django_db(transaction=True)
def test_the_list_at_1280_px(desktop_page, control, event, make_grant):
    page, errors, shoot = desktop_page
    names = ['Ada Lovelace-Byron', 'Grace Brewster Murray Hopper', 'Edsger Wybe Dijkstra', 'Barbara Liskov']
    statuses = (Grant.STATUS_CONFIRMED, Grant.STATUS_REJECTED, Grant.STATUS_PENDING, Grant.STATUS_APPROVED)
    grants = [make_grant(status, name=n, email=f'{n.split()[0].lower()}@example.org', travel_amount=Decimal('600.00'),
                         requested_travel=Decimal('650.00'))
              for n, status in zip(names, statuses)]
    log_in(page, control)
    page.goto(f'{control}/control/event/{event.organizer.slug}/{event.slug}/grants/')
    page.wait_for_load_state('networkidle')
    width, viewport = scroll_width(page)
    assert width <= viewport
    assert lines(page, 'td.grants-applied') == [1, 1, 1, 1]
    rejected = page.locator('table.grants-list tbody tr', has=page.locator(f'input[value="{grants[1].pk}"]'))
    expect(rejected.locator('td.grants-granted')).to_have_text('–')
    shoot('list')

    for g in (grants[0], grants[2]):
        page.locator(f'input[name="grant"][value="{g.pk}"]').check()
    page.locator('.grants-bulk select[name="operation"]').select_option('stage')
    page.locator('.grants-bulk button[type="submit"]').click()
    # pretix's async task form posts, and on the error goes back to the list
    expect(page.get_by_text('Choose the decision to stage.')).to_be_visible(timeout=20000)
    expect(page.locator(f'input[name="grant"][value="{grants[0].pk}"]')).to_be_checked()
    expect(page.locator(f'input[name="grant"][value="{grants[2].pk}"]')).to_be_checked()
    expect(page.locator(f'input[name="grant"][value="{grants[1].pk}"]')).not_to_be_checked()
    expect(page.locator('.grants-bulk select[name="operation"]')).to_have_value('stage')
    shoot('kept-selection')
    assert errors == []
