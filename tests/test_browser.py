"""
The grantee's way through a real browser: from the link in the decision mail to the shop with the voucher filled in.

Debian's chromium driven by Playwright against pytest-django's live server (real transactions: the voucher task
runs after the confirmation commits, as in production). A screenshot of every step is saved in the test's tmp_path.
Skipped only where no chromium is installed at all; `.ci/run` installs it.
"""
import re

import pytest
from django.core import mail as djmail
from django_scopes import scopes_disabled
from playwright.sync_api import expect
from pretix.base.models import LogEntry, Voucher

from pretix_grants import workflow
from pretix_grants.models import Grant

from .browser import fits_the_screen, needs_chromium
from .conftest import event_scope

pytestmark = needs_chromium


@pytest.fixture
def decision_mail_link(site, grant_settings, make_grant):
    """Offer a grant the way organizers do and return the link from the decision mail pretix sent."""
    grant = make_grant(Grant.STATUS_PENDING, name='Ada Lovelace', email='ada@example.org', locale='en')
    with event_scope(grant.event):  # as the control panel stages and publishes
        workflow.stage_decision(grant, Grant.STATUS_APPROVED)
        djmail.outbox = []
        workflow.publish(grant)
    [mail] = [m for m in djmail.outbox if m.to == ['ada@example.org']]
    assert mail.subject == 'Your grant for PyConf 2027: please confirm'
    link = re.search(r'(http://\S+/grant/\S+/)', mail.body).group(1)
    assert link.startswith(site + '/pyconf/2027/grant/')
    return grant, link


def tab_to(page, label, presses=40):
    """Move the keyboard focus with Tab, as a keyboard user would, until it is on the control named ``label``."""
    for _ in range(presses):
        page.keyboard.press('Tab')
        if page.evaluate('document.activeElement.textContent.trim()') == label:
            return
    raise AssertionError(f'{label!r} cannot be reached with the Tab key')


@pytest.mark.django_db(transaction=True)
def test_a_grantee_confirms_and_gets_to_the_shop_with_the_voucher(browser_page, decision_mail_link):
    page, errors, shoot = browser_page
    grant, link = decision_mail_link

    page.goto(link)
    expect(page.get_by_role('heading', name='We are offering you a grant')).to_be_visible()
    expect(page.get_by_text('Your grant, Ada Lovelace')).to_be_visible()
    expect(page.get_by_text('Travel: €300.00')).to_be_visible()
    assert fits_the_screen(page)
    shoot('offer')

    page.get_by_role('button', name='Confirm: I accept the grant').click()
    expect(page.get_by_text('Thank you: your grant is confirmed.')).to_be_visible()
    code = page.locator('#voucher-code')
    expect(code).to_be_visible()
    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.status == Grant.STATUS_CONFIRMED
        assert Voucher.objects.filter(event=grant.event).count() == 1
        assert LogEntry.objects.filter(object_id=grant.pk, action_type='pretix_grants.grant.reply_page.opened').count() == 1
    expect(code).to_have_text(grant.voucher.code)
    assert fits_the_screen(page)
    shoot('confirmed')

    page.get_by_role('link', name='Get your ticket').click()
    page.wait_for_url(re.compile(r'/pyconf/2027/redeem\?voucher=' + grant.voucher.code))
    expect(page.get_by_role('heading', name='Voucher redemption')).to_be_visible()
    expect(page.get_by_text('You entered a voucher code that allows you to buy one of the following products')).to_be_visible()
    expect(page.get_by_text('Conference ticket')).to_be_visible()
    expect(page.get_by_role('article', name='Conference ticket').locator('ins')).to_contain_text('free')
    expect(page.get_by_role('radio', name='Conference ticket')).to_be_checked()
    expect(page.locator('input[name="_voucher_code"]')).to_have_value(grant.voucher.code)
    shoot('shop')

    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_a_grantee_declines_with_the_keyboard(browser_page, decision_mail_link):
    page, errors, shoot = browser_page
    grant, link = decision_mail_link

    page.goto(link)
    expect(page.get_by_role('heading', name='We are offering you a grant')).to_be_visible()
    shoot('offer')

    tab_to(page, 'Decline the grant')
    page.keyboard.press('Enter')
    expect(page.get_by_role('heading', name='Do you really want to decline your grant?')).to_be_visible()
    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.status == Grant.STATUS_APPROVED, 'asking once more changes nothing'
    assert fits_the_screen(page)
    shoot('really-decline')

    tab_to(page, 'Yes, decline the grant')
    page.keyboard.press('Enter')
    expect(page.get_by_text('You have declined the grant. Thank you for letting us know.')).to_be_visible()
    expect(page.get_by_role('heading', name='You have declined the grant')).to_be_visible()
    expect(page.get_by_role('button')).to_have_count(0)
    shoot('declined')

    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.status == Grant.STATUS_REFUSED
        assert not Voucher.objects.filter(event=grant.event).exists()
        entry = LogEntry.objects.get(object_id=grant.pk, action_type='pretix_grants.grant.refused')
        assert entry.parsed_data['actor'] == workflow.GRANTEE
    assert errors == []
