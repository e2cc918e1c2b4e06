"""
Grants → Statistics in Debian's chromium: the charts draw (SVG from pretix's Morris.js/Raphaël), the filters
work, no console error or failed request, and axe-core finds nothing in the plugin's part of the page.
"""
import re
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from pretix_grants.models import Grant, Review

from ..a11y import axe_findings
from ..browser import log_in, needs_chromium
from ..control.test_browser import open_grants

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def control(site, admin_team, user, event, grant_settings, make_grant):
    event.settings.grants_application_questions = [
        {'id': 'country', 'type': 'text', 'question': 'Country', 'required': False}]
    event.settings.grants_budget = Decimal('5000.00')
    event.settings.grants_budget_travel = Decimal('3000.00')
    with scopes_disabled():
        for i in range(14):
            status = [Grant.STATUS_CONFIRMED, Grant.STATUS_REJECTED][i % 2]
            g = make_grant(status, answers={'country': ['IT', 'DE', 'FR'][i % 3]}, accommodation_amount=Decimal(i))
            Review.objects.create(grant=g, user=user, score=3)
    return site


def open_statistics(desktop_page, control, event):
    page, errors, shoot = desktop_page
    page.on('response', lambda r: errors.append(f'{r.status} {r.url}') if r.status >= 400 else None)
    log_in(page, control)
    open_grants(page, control, event)
    page.locator('#side-menu a', has_text='Statistics').first.click()
    page.wait_for_url(re.compile(r'/grants/statistics/$'))
    expect(page.get_by_role('heading', name='Grant statistics')).to_be_visible()
    page.wait_for_load_state('networkidle')
    assert errors == []
    for chart in ('funnel', 'money', 'days', 'country', 'type'):
        expect(page.locator(f'#chart-{chart} svg')).to_have_count(1)
    assert page.locator('#chart-funnel svg rect').count() >= 2
    expect(page.locator('#table-funnel')).to_contain_text('14')
    expect(page.locator('#table-money tbody tr').first).to_contain_text('€3,000.00')
    shoot('statistics')

    page.get_by_label('confirmed', exact=True).check()
    page.locator('#insights-filter').click()
    page.wait_for_url(re.compile(r'status=confirmed'))
    expect(page.locator('#table-funnel tbody tr').first).to_contain_text('7')
    expect(page.locator('#chart-funnel svg')).to_have_count(1)
    shoot('filtered')
    assert errors == []
    return page, errors


def test_the_charts_draw_and_the_filters_work(desktop_page, control, event):
    open_statistics(desktop_page, control, event)


def test_axe_finds_nothing_on_the_statistics_page(desktop_page, control, event):
    page, errors = open_statistics(desktop_page, control, event)
    found = axe_findings(page, '#grants-insights')
    assert found == [], '\n'.join(found)
    assert errors == []
