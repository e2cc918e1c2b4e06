"""
Claims in a real browser at phone width: a grantee claims with a photo of the receipt and sees the state; an
organizer approves the claim on its page and downloads the SEPA payout file.

The Debian chromium and Playwright setup of tests/test_browser.py; console errors and any 4xx/5xx answer fail the
test; a screenshot of every step is saved in the test's tmp_path.
"""
import re
from decimal import Decimal

import pytest
import xmlschema
from django.conf import settings as django_settings
from django.core import mail as djmail
from django.test import Client
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from pretix_grants.claims import rules as claims
from pretix_grants.models import Claim, Grant, Receipt

from ..browser import CHROMIUM, fits_the_screen
from .conftest import IBAN, jpeg_bytes, submitted_claim, upload
from .test_payout import XSD

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason='chromium not found: install it with `apt-get install -y chromium`',
)


def record_failed_requests(page, errors):
    page.on('response', lambda r: errors.append(f'{r.status} {r.url}') if r.status >= 400 else None)


@pytest.mark.django_db(transaction=True)
def test_a_grantee_claims_with_a_receipt_photo_and_sees_the_state(browser_page, site, claim_grant, tmp_path):
    page, errors, shoot = browser_page
    record_failed_requests(page, errors)
    photo = tmp_path / 'train-ticket.jpg'
    photo.write_bytes(jpeg_bytes())

    page.goto(f'{site}/pyconf/2027/grant/{claim_grant.secret}/')
    expect(page.get_by_role('heading', name='Your reimbursement')).to_be_visible()
    page.get_by_role('link', name='Claim your reimbursement').click()
    expect(page.get_by_role('heading', name='Claim your reimbursement')).to_be_visible()
    assert fits_the_screen(page)
    shoot('claim-form')

    page.get_by_label('Travel: amount claimed').fill('280.00')
    page.locator('textarea[name="travel_description"]').fill('Train Berlin - Vienna and back')
    page.locator('input[name="travel_receipts"]').set_input_files(str(photo))
    page.get_by_label('Account holder').fill('Ada Lovelace')
    page.get_by_label('IBAN').fill('de89 3704 0044 0532 0130 00')
    shoot('filled')
    page.get_by_role('button', name='Submit your claim').click()

    expect(page.get_by_text('Thank you: your claim has been submitted.')).to_be_visible()
    expect(page.get_by_role('heading', name='Your claim has been submitted')).to_be_visible()
    expect(page.locator('#claim-total')).to_have_text('€280.00')
    expect(page.get_by_role('link', name='train-ticket.jpg')).to_be_visible()
    assert fits_the_screen(page)
    shoot('submitted')

    # the receipt opens under the grant's secret page, as the photo it is
    with page.expect_popup() as popup:
        page.get_by_role('link', name='train-ticket.jpg').click()
    receipt_page = popup.value
    receipt_page.wait_for_load_state()
    assert '/claim/receipt/' in receipt_page.url
    receipt_page.close()

    with scopes_disabled():
        claim = Claim.objects.get(grant=claim_grant)
        assert (claim.state, claim.claimed_amount, claim.iban) == (Claim.STATE_SUBMITTED, Decimal('280.00'), IBAN)
        [receipt] = Receipt.objects.filter(item__claim=claim)
        assert receipt.content_type == 'image/jpeg'
    [mail] = [m for m in djmail.outbox if m.to == ['ada@example.org']]
    assert mail.subject == 'We received your reimbursement claim for PyConf 2027'

    page.get_by_role('link', name='Back to your grant').click()
    expect(page.locator('#claim-summary-state')).to_have_text('Your claim has been submitted')
    shoot('reply-page')
    assert errors == []


def log_in(page, site, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{'name': cookie.key, 'value': cookie.value, 'url': site}])


@pytest.mark.django_db(transaction=True)
def test_an_organizer_approves_a_claim_and_exports_the_sepa_file(browser_page, site, claim_grant, past_event,
                                                                 user, admin_team):
    page, errors, shoot = browser_page
    record_failed_requests(page, errors)
    page.set_viewport_size({'width': 1280, 'height': 900})
    past_event.settings.grants_payout_account_holder = 'PyConf e.V.'
    past_event.settings.grants_payout_iban = 'DE02120300000000202051'
    claim = submitted_claim(claim_grant, '250.00', files=[upload('photo.jpg', jpeg_bytes(), 'image/jpeg')])
    log_in(page, site, user)

    page.goto(f'{site}/control/event/pyconf/2027/grants/claims/')
    expect(page.locator('#total-claimed')).to_have_text('€250.00')
    page.get_by_role('link', name='Ada Lovelace').click()
    expect(page.locator('#claim-state')).to_have_text('Submitted')
    img = page.locator('.grant-claim-receipt img')
    expect(img).to_be_visible()
    # the receipt photo is shown inline, once the browser has loaded it
    page.wait_for_function('() => { const i = document.querySelector(".grant-claim-receipt img");'
                           ' return i && i.complete && i.naturalWidth > 0; }')
    assert page.evaluate('(img) => img.naturalWidth', img.element_handle()) == 40
    shoot('claim')

    page.get_by_label('Approved amount').fill('230.00')
    page.get_by_label('Message to the grantee').fill('Second class only.')
    page.get_by_role('button', name='Save and tell the grantee').click()
    expect(page.get_by_text('Your decision has been saved and sent to the grantee.')).to_be_visible()
    expect(page.locator('#claim-approved')).to_have_text('€230.00')
    shoot('approved')

    # a second grantee is paid to an account outside the SEPA area: not in the SEPA file
    with scopes_disabled():
        cahit = Grant.objects.create(event=past_event, name='Cahit Arf', email='cahit@example.org',
                                     status=Grant.STATUS_CONFIRMED, travel_amount=Decimal('300.00'))
    submitted = submitted_claim(cahit, '100.00', iban='TR330006100519786457841326', bic='TGBATRISXXX')
    with scope(organizer=past_event.organizer):  # the organizer's claim page
        other = claims.approve(submitted)
    page.goto(f'{site}/control/event/pyconf/2027/grants/claims/export/')
    # the export is a payout batch: its page downloads the file, marks exactly its claims paid
    page.get_by_role('button', name='SEPA transfer (XML)').click()
    expect(page.get_by_text('Payout batch #')).to_have_count(2)
    expect(page.get_by_text('The claim of Cahit Arf')).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role('link', name='Download the file').click()
    xml = open(download.value.path(), 'rb').read()
    xmlschema.XMLSchema(XSD).validate(xml.decode())
    assert re.search(rb'<InstdAmt Ccy="EUR">230.00</InstdAmt>', xml) and b'Cahit' not in xml
    shoot('export')

    page.get_by_role('button', name='Mark the claims of this batch as paid').click()
    expect(page.get_by_text('1 claim has been marked as paid.')).to_be_visible()
    with scopes_disabled():
        claim.refresh_from_db()
    assert claim.state == Claim.STATE_PAID
    with scope(organizer=past_event.organizer):  # the export page asks
        assert list(claims.payable(past_event)) == [other]
    shoot('paid-sepa')

    # the other one, once paid by hand from the CSV file
    page.goto(f'{site}/control/event/pyconf/2027/grants/claims/export/')
    page.get_by_role('button', name='CSV').click()
    with page.expect_download():
        page.get_by_role('link', name='Download the file').click()
    page.get_by_role('button', name='Mark the claims of this batch as paid').click()
    expect(page.get_by_text('1 claim has been marked as paid.')).to_be_visible()
    page.get_by_role('link', name='Payout export').click()
    expect(page.get_by_text('There are no approved, unpaid claims.')).to_be_visible()
    with scope(organizer=past_event.organizer):
        assert claims.payable(past_event).count() == 0
    shoot('paid')
    assert errors == []
