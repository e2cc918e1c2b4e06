"""
The grant page in a real browser (Debian's chromium, pretix's JavaScript running): the person's own order, the
organizer's handling, a failed refund and the retry button that makes it. Fails on a console error, a page error,
a 4xx/5xx answer or anything axe finds in the panel; screenshots go into the test's tmp_path.
"""
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect
from pretix.base.models import OrderRefund

from pretix_grants import workflow

from ..a11y import axe_findings
from ..browser import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def log_in(page, site, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{'name': cookie.key, 'value': cookie.value, 'url': site}])


def test_grant_page_shows_the_persons_order_the_handling_and_retries_a_failed_refund(
        site, desktop_page, admin_team, user, buyer, approved_grant, item, shop_event):
    page, errors, shoot = desktop_page
    shop_event.settings.grants_own_ticket = 'refund'
    shop_event.settings.grantcard_declines = True
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))
    with scope(organizer=shop_event.organizer):
        workflow.confirm(approved_grant)
    log_in(page, site, user)

    page.goto(f'{site}/control/event/pyconf/2027/grants/{approved_grant.pk}/')
    panel = page.locator('.grant-own-ticket')
    expect(panel).to_contain_text(order.code)
    expect(panel.locator('.grant-own-ticket-handling')).to_contain_text('refund the ticket')
    expect(panel.locator('.grant-own-ticket-state')).to_contain_text('refund failed')
    expect(panel.locator('.grant-own-refund-error')).to_have_text('The card acquirer declined the refund.')
    shoot('refund-failed')
    found = axe_findings(page, '#grant-detail')
    assert found == [], '\n'.join(found)

    shop_event.settings.grantcard_declines = False
    panel.get_by_role('button', name='Try the refund again').click()
    expect(page.get_by_text('The refund has been made.')).to_be_visible()
    panel = page.locator('.grant-own-ticket')
    expect(panel.locator('.grant-own-ticket-state')).to_contain_text('refunded')
    expect(panel.locator('.grant-own-refund')).to_contain_text('€200.00')
    expect(panel.get_by_role('button', name='Try the refund again')).to_have_count(0)
    shoot('refunded')
    found = axe_findings(page, '#grant-detail')
    assert found == [], '\n'.join(found)

    # pretix's own order page shows the refund as pretix made it
    page.get_by_role('link', name=order.code).first.click()
    expect(page.locator('body')).to_contain_text('Refunds')
    shoot('pretix-order')

    with scopes_disabled():
        refunds = list(OrderRefund.objects.filter(order=order))
    assert [(r.state, r.amount) for r in refunds] == [(OrderRefund.REFUND_STATE_DONE, Decimal('200.00'))]
    assert errors == []
