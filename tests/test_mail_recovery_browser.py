"""
The grant's page in a real browser after the sweep sent a stalled voucher mail again: the organizer sees
"delayed, resent at …" at the mail, and that it may arrive twice. Debian's chromium with Playwright, as in
test_browser.py; a screenshot is saved in the test's tmp_path.
"""
from datetime import timedelta

import pytest
from django.utils.timezone import now
from django_scopes import scopes_disabled
from playwright.sync_api import expect
from pretix.base.models import OutgoingMail

from pretix_grants import mails, workflow
from pretix_grants.models import GrantMail

from .browser import CHROMIUM
from .conftest import event_scope
from .control.conftest import url

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason='chromium not found: install it with `apt-get install -y chromium`',
)


@pytest.mark.django_db(transaction=True)
def test_organizer_sees_the_delayed_mail_and_when_it_was_resent(
        site, browser_page, approved_grant, manager, event):
    page, errors, shoot = browser_page
    failed = []
    page.on('response', lambda r: failed.append(f'{r.status} {r.url}') if r.status >= 400 else None)
    with event_scope(event):  # as the reply page confirms; the voucher task and its mail follow the commit
        workflow.confirm(approved_grant)
    with scopes_disabled():
        record = GrantMail.objects.get(grant=approved_grant, kind=GrantMail.KIND_VOUCHER)
        # its worker died while sending it, half an hour ago
        OutgoingMail.objects.filter(pk=record.outgoing_mail_id).update(
            status=OutgoingMail.STATUS_INFLIGHT, inflight_since=now() - timedelta(minutes=30), sent=None)
    assert mails.resend_stalled() == (0, 1)  # with no scope, as cron runs it

    page.goto(site + '/control/login')
    page.fill('input[name=email]', 'manager@example.org')
    page.fill('input[name=password]', 'x')
    page.locator('form button[type=submit]').first.click()
    page.wait_for_url('**/control/**')
    page.goto(site + url(event, f'{approved_grant.pk}/'))

    row = page.locator('table.grant-mails tr', has_text='Voucher')
    expect(row).to_contain_text('sent')
    expect(row.locator('.grant-mail-resent')).to_contain_text('delayed, resent at')
    expect(row.locator('.grant-mail-resent')).to_contain_text('may arrive twice')
    expect(page.get_by_text('the grantee may receive it twice')).to_be_visible()
    shoot('grant-page-resent-mail')
    assert errors == [], errors
    assert failed == []
