"""
A German grantee in a real browser: from the link in the German decision mail to a confirmed grant and into the
shop, which speaks German too, with the voucher applied. The browser itself asks for English: the language comes
from the grant. Every visible heading and button on the way is German. Screenshots are saved in the test's tmp_path.
"""
import os
import re

import pretix
import pytest
from babel.messages.pofile import read_po
from django.core import mail as djmail
from django_scopes import scopes_disabled
from playwright.sync_api import expect
from pretix.base.models import Voucher

from pretix_grants import workflow
from pretix_grants.models import Grant

from .browser import CHROMIUM
from .catalogues import catalogues
from .conftest import event_scope

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason='chromium not found: install it with `apt-get install -y chromium`',
)


def english_messages():
    """English messages of the plugin and of pretix that German writes differently."""
    found = set()
    for path in (catalogues.po_path('de'),
                 os.path.join(os.path.dirname(pretix.__file__), 'locale', 'de', 'LC_MESSAGES', 'django.po')):
        with open(path, 'rb') as f:
            for m in read_po(f):
                if m.id and isinstance(m.id, str) and m.string and m.string != m.id:
                    found.add(' '.join(m.id.split()))
    return found


def visible_headings_and_buttons(page):
    return page.evaluate("""() => Array.from(document.querySelectorAll(
            'h1, h2, h3, h4, h5, h6, button, a.btn, input[type=submit]'))
        .filter(e => e.offsetParent !== null)
        .map(e => (e.innerText || e.value || '').replace(/\\s+/g, ' ').trim())
        .filter(t => t)""")


@pytest.fixture
def german_offer(site, event, grant_settings, make_grant):
    event.settings.locales = ['en', 'de']
    event.settings.timezone = 'Europe/Berlin'
    grant = make_grant(Grant.STATUS_PENDING, name='Jonas Becker', email='jonas@example.org', locale='de')
    with event_scope(event):  # as the control panel stages and publishes
        workflow.stage_decision(grant, Grant.STATUS_APPROVED)
        djmail.outbox = []
        workflow.publish(grant)
    [mail] = [m for m in djmail.outbox if m.to == ['jonas@example.org']]
    assert mail.subject == 'Ihr Stipendium für PyConf 2027: Bitte bestätigen Sie'
    assert 'Hallo Jonas Becker,' in mail.body
    assert '- Reise: 300,00' in mail.body
    link = re.search(r'(http://\S+/grant/\S+/)', mail.body).group(1)
    return grant, link


@pytest.mark.django_db(transaction=True)
def test_a_german_grantee_confirms_and_shops_in_german(browser_page, german_offer):
    page, errors, shoot = browser_page
    grant, link = german_offer
    failed = []
    page.on('response', lambda r: failed.append(f'{r.status} {r.url}') if r.status >= 400 else None)
    english = english_messages()

    def all_german():
        texts = visible_headings_and_buttons(page)
        assert texts
        assert [t for t in texts if t in english] == []

    page.goto(link)
    expect(page.locator('html')).to_have_attribute('lang', 'de')
    expect(page.get_by_role('heading', name='Wir bieten Ihnen ein Stipendium an')).to_be_visible()
    expect(page.get_by_text('Reise: 300,00')).to_be_visible()
    expect(page.locator('#grant-deadline')).to_contain_text('(Europe/Berlin)')
    all_german()
    shoot('angebot')

    page.get_by_role('button', name='Bestätigen: Ich nehme das Stipendium an').click()
    expect(page.get_by_text('Vielen Dank: Ihr Stipendium ist bestätigt.')).to_be_visible()
    expect(page.get_by_role('heading', name='Sie haben Ihr Stipendium bestätigt')).to_be_visible()
    code = page.locator('#voucher-code')
    expect(code).to_be_visible()
    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.status == Grant.STATUS_CONFIRMED
        assert Voucher.objects.filter(event=grant.event).count() == 1
    expect(code).to_have_text(grant.voucher.code)
    all_german()
    shoot('bestaetigt')

    page.get_by_role('link', name='Ticket holen').click()
    page.wait_for_url(re.compile(r'/pyconf/2027/redeem\?voucher=' + grant.voucher.code))
    expect(page.locator('html')).to_have_attribute('lang', 'de')
    expect(page.get_by_role('heading', name='Gutschein-Einlösung')).to_be_visible()
    expect(page.get_by_role('radio', name='Conference ticket')).to_be_checked()
    expect(page.get_by_role('article', name='Conference ticket').locator('ins')).to_contain_text('gratis')  # pretix's German for a free price
    expect(page.locator('input[name="_voucher_code"]')).to_have_value(grant.voucher.code)
    all_german()
    shoot('shop')

    assert errors == []
    assert failed == []
