"""
Applying for a grant in a real browser: from the shop's front page through the form to the applicant's status page.

The same Debian chromium and Playwright setup as the grantee page's browser tests (tests/test_browser.py).
"""
import re
from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.utils.timezone import now
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from pretix_grants.models import Grant

from .browser import fits_the_screen, needs_chromium

pytestmark = needs_chromium


@pytest.mark.django_db(transaction=True)
def test_an_applicant_applies_in_the_shop_and_sees_the_status_page(site, browser_page, event):
    page, errors, shoot = browser_page
    with scopes_disabled():
        event.settings.grants_applications_open = now() - timedelta(days=1)
        event.settings.grants_applications_close = now() + timedelta(days=1)
        event.settings.grants_application_questions = [
            {'id': 'first', 'type': 'boolean', 'question': 'Is this your first conference?', 'required': True}]

    page.goto(f'{site}/pyconf/2027/')
    page.get_by_role('link', name='Apply for a grant').click()
    expect(page.get_by_role('heading', name='Apply for a grant')).to_be_visible()
    assert fits_the_screen(page)
    shoot('form')

    page.get_by_label('Your name').fill('Grace Hopper')
    page.get_by_label('Your email address').fill('grace@example.org')
    page.get_by_label('Why do you want to attend?').fill('I maintain a compiler.')
    page.get_by_label('Travel').fill('250')
    page.get_by_role('radio', name='No').check()
    page.get_by_role('button', name='Send application').click()
    # the justification is missing: the form says so, and keeps what was typed
    # beside the field (pretix's summary above the form names it too, linked to the field)
    expect(page.locator('.help-block', has_text='Please tell us briefly what the amounts are for.')).to_be_visible()
    expect(page.get_by_label('Your name')).to_have_value('Grace Hopper')
    shoot('errors')

    page.get_by_label('What are the amounts for?').fill('Train from Zurich and back.')
    page.get_by_role('button', name='Send application').click()
    expect(page.get_by_role('heading', name='Thank you for your application')).to_be_visible()
    assert 'grace' not in page.url
    shoot('thanks')

    with scopes_disabled():
        g = Grant.objects.get(event=event)
        assert (g.status, g.requested_travel, g.answers) == (Grant.STATUS_PENDING, 250, {'first': False})
    [mail] = [m for m in djmail.outbox if m.to == ['grace@example.org']]
    link = re.search(r'(http://\S+/grant/\S+/)', mail.body).group(1)
    page.goto(link)
    expect(page.get_by_text('under review')).to_be_visible()
    shoot('status')
    assert errors == []
