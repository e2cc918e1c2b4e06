"""
A decision day in a real browser: the organizer runs the proposal on the Decide page, sees the chart (pretix's own
Morris.js), commits to the draw at the line and draws it, stages the proposal and publishes it with the list's
bulk action; an applicant opens the public page of the draw and finds the seed and the order.

Debian's chromium with Playwright (tests/browser.py); console errors, page errors and any 4xx/5xx answer fail the
test; each step leaves a screenshot in the test's tmp_path.
"""
import hashlib
import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from pretix_grants.models import Draw, Grant

from ..a11y import axe_findings
from ..browser import (
    PHONE, Shooter, fits_the_screen, log_in, needs_chromium, watch,
)
from ..control.test_browser import open_grants, run_bulk

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def control(site, admin_team, user, event, grant_settings):
    return site


def test_a_decision_day_with_a_draw_at_the_line(desktop_page, control, event, programme):
    page, errors, shoot = desktop_page
    grants = programme(scores=((5, 5), (4, 3), (3, 4), (1, 1)), budget='600.00')
    log_in(page, control)
    open_grants(page, control, event)
    page.locator('#side-menu a', has_text='Decide').first.click()
    page.wait_for_url(re.compile(r'/grants/decide/$'))
    page.get_by_label('Rank by').select_option('calibrated')
    page.get_by_role('button', name='Run the proposal').click()
    page.wait_for_url(re.compile(r'/grants/decide/\?'))
    # Morris draws the funding line as SVG: the running total and a bar per applicant
    expect(page.locator('#decide-chart svg path').first).to_be_attached()
    expect(page.locator('#decide-offers svg rect').first).to_be_attached()
    expect(page.locator('#proposal-table tbody tr')).to_have_count(4)
    expect(page.locator('#stage-proposal')).to_be_disabled()
    shoot('proposal')
    page.locator('#proposal-table tbody tr.success a').first.hover()  # a funded row under the pointer, as axe sees it
    found = axe_findings(page, '#grants-decide')
    assert found == [], '\n'.join(found)

    page.get_by_role('button', name='Commit to a draw').click()
    expect(page.locator('#draw-commitment')).to_be_visible()
    shoot('committed')
    found = axe_findings(page, '#grants-decide')
    assert found == [], '\n'.join(found)
    page.get_by_role('button', name='Draw the lots').click()
    expect(page.locator('#draw-done')).to_be_visible()
    expect(page.locator('.proposal-reason', has_text='drawn 1 of 2')).to_have_count(1)
    shoot('drawn')
    found = axe_findings(page, '#grants-decide')
    assert found == [], '\n'.join(found)
    page.get_by_role('button', name='Stage these decisions').click()
    expect(page.get_by_text('The proposal has been staged: 2 offers, 2 on the waiting list')).to_be_visible()

    page.goto(f'{control}/control/event/{event.organizer.slug}/{event.slug}/grants/')
    run_bulk(page, shoot, 'publish', grants, 'publish', expect_counts='4 done')
    with scopes_disabled():
        statuses = sorted(Grant.objects.filter(event=event).values_list('status', flat=True))
        draw = Draw.objects.get(event=event)
    assert statuses == ['approved', 'approved', 'waiting_list', 'waiting_list']
    assert errors == []

    # the applicant, in a browser of their own (no organizer's session), at phone width
    applicant_errors = []
    applicant = page.context.browser.new_context(viewport=PHONE, locale='en-US').new_page()
    watch(applicant, applicant_errors)
    applicant.goto(f'{control}/{event.organizer.slug}/{event.slug}/grants/draws/{draw.pk}/')
    expect(applicant.locator('#draw-seed')).to_have_text(draw.seed)
    expect(applicant.locator('#draw-seed-matches')).to_be_visible()
    assert hashlib.sha256(draw.seed.encode()).hexdigest() == applicant.locator('#draw-commitment').inner_text()
    expect(applicant.locator('#draw-order tbody tr')).to_have_count(2)
    expect(applicant.locator('#draw-check')).to_contain_text('hmac.new(seed.encode()')
    assert fits_the_screen(applicant)
    Shooter(applicant, shoot.folder, 'applicant-')('draw-page')
    found = axe_findings(applicant, '#grants-draw')
    assert found == [], '\n'.join(found)
    assert applicant_errors == []
