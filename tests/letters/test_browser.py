"""
Invitation letters in a real browser: a grantee asks for one on their page, an organizer approves it in the control
panel, the grantee downloads it, and a consulate opens the verification page from the letter.

The same Debian chromium and Playwright setup as the grantee page's browser tests (tests/test_browser.py): console
errors and failed requests (4xx/5xx) fail the test, and a screenshot of every step is saved in the test's tmp_path.
"""
import io
import re
from datetime import date, timedelta

import pytest
from django.core import mail as djmail
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect
from pretix.base.models import Event, User
from pypdf import PdfReader

from pretix_grants.letters import rules as letters
from pretix_grants.models import Grant, LetterRequest

from ..browser import CHROMIUM, fits_the_screen
from .conftest import letter_data

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason='chromium not found: install it with `apt-get install -y chromium`',
)


def watch_responses(page, errors):
    page.on('response', lambda r: errors.append(f'{r.status} {r.url}') if r.status >= 400 else None)


def log_in(page, site, organizer):
    """An organizer with every permission, logged in to the control panel through pretix's login form."""
    with scopes_disabled():
        admin = User.objects.create_user('organizer@example.org', 'secret-password-1')
        team = organizer.teams.create(name='Admins', all_events=True, all_event_permissions=True,
                                      all_organizer_permissions=True)
        team.members.add(admin)
    page.set_viewport_size({'width': 1280, 'height': 900})
    page.goto(f'{site}/control/login')
    page.get_by_label('Email').fill('organizer@example.org')
    page.get_by_label('Password').fill('secret-password-1')
    page.get_by_role('button', name='Log in').click()
    page.wait_for_url(re.compile(r'/control/$'))


@pytest.mark.django_db(transaction=True)
def test_a_grantee_requests_a_letter_and_the_organizer_approves_it(browser_page, site, letter_event, make_grant, organizer):
    page, errors, shoot = browser_page
    watch_responses(page, errors)
    with scopes_disabled():
        grant = make_grant(Grant.STATUS_CONFIRMED, name='Łukasz Żółć', email='lukasz@example.org')

    # the grantee, from their page
    page.goto(f'{site}/pyconf/2027/grant/{grant.secret}/')
    expect(page.get_by_role('heading', name='Invitation letter for your visa')).to_be_visible()
    page.get_by_role('link', name='Invitation letters').click()
    expect(page.get_by_role('heading', name='Invitation letter for your visa')).to_be_visible()
    assert fits_the_screen(page)
    shoot('letter-form')

    page.get_by_label('Full name as in the passport').fill('Łukasz Żółć')
    page.get_by_label('Nationality').select_option('PL')
    page.get_by_label('Passport number').fill('EX1234567')
    # an expiry before the event ends: the form says so and keeps what was typed
    page.get_by_label('Passport expiry date').fill(date.today().isoformat())
    page.get_by_label('Date of birth').fill('1990-04-17')
    page.get_by_label('Postal address').fill('ul. Długa 5\n00-001 Warszawa')
    page.get_by_label('Consulate or embassy').fill('Embassy of Germany\nWarszawa')
    page.get_by_role('button', name='Request the letter').click()
    # the error, once, naming its field (the field's help text says the same rule before anything is typed)
    expect(page.get_by_text('Passport expiry date: Your passport must be valid until after the event.')).to_have_count(1)
    expect(page.get_by_label('Passport number')).to_have_value('EX1234567')
    shoot('letter-form-error')

    page.get_by_label('Passport expiry date').fill((date.today() + timedelta(days=1500)).isoformat())
    page.keyboard.press('Escape')  # close the date picker
    page.get_by_role('button', name='Request the letter').click()
    expect(page.get_by_text('we have received your request for an invitation letter')).to_be_visible()
    with scopes_disabled():
        letter = LetterRequest.objects.get(grant=grant)
    expect(page.get_by_text('requested, the organizers are preparing it')).to_be_visible()
    assert fits_the_screen(page)
    shoot('letter-requested')

    # the organizer, in the control panel
    log_in(page, site, organizer)
    page.goto(f'{site}/control/event/pyconf/2027/grants/letters/')
    expect(page.get_by_role('heading', name='Invitation letters')).to_be_visible()
    shoot('control-queue')
    page.get_by_role('link', name=letter.reference).click()
    expect(page.get_by_text('EX1234567')).to_be_visible()
    shoot('control-request')
    djmail.outbox = []
    page.get_by_role('button', name='Approve and send the letter').click()
    expect(page.get_by_text('The letter has been issued and sent to the requester.')).to_be_visible()
    expect(page.locator('#letter-status')).to_have_text('Issued')
    shoot('control-issued')
    [mail] = [m for m in djmail.outbox if m.to == ['lukasz@example.org']]
    assert mail.attachments[0][0] == f'invitation-letter-{letter.reference}.pdf'

    # the grantee downloads it
    page.set_viewport_size({'width': 360, 'height': 740})
    page.goto(f'{site}/pyconf/2027/grant/{grant.secret}/letter/')
    with page.expect_download() as download:
        page.get_by_role('link', name='Download the letter (PDF)').click()
    path = download.value.path()
    with open(path, 'rb') as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
    text = ' '.join(reader.pages[0].extract_text().split())
    assert 'Łukasz Żółć' in text and letter.reference in text
    shoot('letter-issued')

    # the consulate, from the URL printed on the letter
    verify = re.search(r'(http://\S+/letters/verify/\S+/)', text).group(1)
    page.goto(verify)
    expect(page.get_by_text('This letter is valid.')).to_be_visible()
    expect(page.locator('#letter-name')).to_have_text('Łukasz Żółć')
    assert 'EX1234567' not in page.content()
    shoot('verification')

    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_a_ticket_holder_asks_on_the_order_page_and_the_organizers_work_the_queue(browser_page, site, letter_event, ticket_order, make_grant, organizer):  # NOQA: E501
    page, errors, shoot = browser_page
    watch_responses(page, errors)
    grants = [make_grant(Grant.STATUS_CONFIRMED, name=n) for n in ('Ana', 'Ben')]
    with scope(organizer=organizer):  # as the grantees' request pages run it
        waiting = [letters.request_letter(letter_event, letter_data(full_name=g.name), grant=g) for g in grants]

    # the ticket holder, from pretix's order page
    page.goto(f'{site}/pyconf/2027/order/{ticket_order.code}/{ticket_order.secret}/')
    expect(page.get_by_role('heading', name='Invitation letter for your visa')).to_be_visible()
    shoot('order-page')
    page.get_by_role('link', name='Request an invitation letter').click()
    page.get_by_label('Full name as in the passport').fill('Nguyễn Thị Ánh')
    page.get_by_label('Nationality').select_option('VN')
    page.get_by_label('Passport number').fill('C1234567')
    page.get_by_label('Passport expiry date').fill((date.today() + timedelta(days=1500)).isoformat())
    page.get_by_label('Date of birth').fill('1994-02-03')
    page.keyboard.press('Escape')
    page.get_by_label('Postal address').fill('12 Lê Lợi\nHà Nội')
    page.get_by_label('Consulate or embassy').fill('Embassy of Germany\nHà Nội')
    page.get_by_role('button', name='Request the letter').click()
    expect(page.get_by_text('requested, the organizers are preparing it')).to_be_visible()
    shoot('order-letter-requested')
    with scopes_disabled():
        holder = LetterRequest.objects.get(order=ticket_order)

    # the organizers: bulk approval of two, a rejection, a correction, a withdrawal, the settings
    log_in(page, site, organizer)
    page.goto(f'{site}/control/event/pyconf/2027/grants/letters/?kind=grant')
    for g in grants:
        page.get_by_label(f'Select {g.name}').check()
    shoot('control-bulk')
    page.get_by_role('button', name='Issue the selected letters').click()
    expect(page.get_by_text('2 letters have been issued.')).to_be_visible()
    with scopes_disabled():
        assert {lr.status for lr in LetterRequest.objects.filter(pk__in=[w.pk for w in waiting])} == {'approved'}

    page.goto(f'{site}/control/event/pyconf/2027/grants/letters/{holder.pk}/')
    with page.expect_popup() as popup:
        page.get_by_role('link', name='Preview the letter').click()
    popup.value.close()
    page.get_by_label('Reason (sent to the requester)').fill('Please send us your order confirmation first.')
    page.get_by_role('button', name='Reject the request').click()
    expect(page.get_by_text('The request has been rejected.')).to_be_visible()
    shoot('control-rejected')

    page.goto(f'{site}/control/event/pyconf/2027/grants/letters/{waiting[0].pk}/')
    page.get_by_role('link', name='Correct the data').click()
    page.get_by_label('Passport number').fill('NEW1234567')
    page.get_by_role('button', name='Save').click()
    expect(page.get_by_text('Your changes have been saved.')).to_be_visible()
    expect(page.get_by_text('NEW1234567')).to_be_visible()
    page.get_by_label('Reason (sent to the requester)').fill('Issued by mistake.')
    page.get_by_role('button', name='Withdraw the letter').click()
    expect(page.locator('#letter-status')).to_have_text('Withdrawn')
    shoot('control-withdrawn')

    page.goto(f'{site}/control/event/pyconf/2027/grants/letters/settings/')
    page.get_by_label('Signed by').fill('Ada Lovelace')
    page.get_by_role('button', name='Save').click()
    expect(page.get_by_text('Your changes have been saved.')).to_be_visible()
    shoot('control-settings')
    with scopes_disabled():
        assert Event.objects.get(pk=letter_event.pk).settings.grants_letter_signatory_name == 'Ada Lovelace'

    assert errors == []
