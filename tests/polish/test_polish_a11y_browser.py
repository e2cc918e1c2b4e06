"""
The claim, letter and application forms in the browser after a failed submit: every help and error text is linked to
its field (``aria-describedby`` names elements on the page), and axe finds neither a violation nor an item needing
review in the plugin's own forms.
"""
from datetime import timedelta

import pytest
from django.utils.timezone import now
from django_scopes import scopes_disabled

from pretix_grants.models import Grant

from ..a11y import axe_findings, description_of, unlinked_descriptions
from ..browser import needs_chromium
from ..claims.conftest import claim_url

pytestmark = needs_chromium


def submit_empty(page, within, button):
    """Submit the form with its required fields empty, as a browser without pretix's check before sending would."""
    page.evaluate('(w) => document.querySelectorAll(w + " [required]").forEach(e => e.removeAttribute("required"))',
                  within)
    page.get_by_role('button', name=button).click()
    page.wait_for_selector(within + ' .has-error')


def check(page, errors, shoot, name, within):
    shoot(name)
    assert page.locator(within).count() == 1
    assert unlinked_descriptions(page, within) == []
    assert axe_findings(page, within) == []
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_the_claim_form_links_its_help_and_errors(browser_page, site, claim_grant):
    page, errors, shoot = browser_page
    page.goto(site + claim_url(claim_grant))
    check(page, errors, shoot, 'claim', 'form.grant-claim-form')
    assert 'You can claim' not in description_of(page, '#id_travel_amount')
    assert 'Granted: €300.00' in description_of(page, '#id_travel_amount')
    page.fill('#id_travel_amount', '301')
    page.get_by_role('button', name='Submit your claim').click()
    page.wait_for_selector('.has-error')
    check(page, errors, shoot, 'claim-errors', 'form.grant-claim-form')
    assert 'Travel: you can claim at most €300.00.' in description_of(page, '#id_travel_amount')
    assert 'Please enter the name of the account holder.' in description_of(page, '#id_account_holder')


@pytest.mark.django_db(transaction=True)
def test_the_letter_form_links_its_help_and_errors(browser_page, site, grantee):
    page, errors, shoot = browser_page
    page.goto(f'{site}/{grantee.event.organizer.slug}/{grantee.event.slug}/grant/{grantee.secret}/letter/')
    check(page, errors, shoot, 'letter', 'form.grants-letter-form')
    submit_empty(page, 'form.grants-letter-form', 'Request the letter')
    check(page, errors, shoot, 'letter-errors', 'form.grants-letter-form')
    assert 'Exactly as printed in your passport' in description_of(page, '#id_letter-full_name')


@pytest.mark.django_db(transaction=True)
def test_the_application_form_links_its_help_and_errors(browser_page, site, event):
    page, errors, shoot = browser_page
    with scopes_disabled():
        event.settings.grants_applications_open = now() - timedelta(days=1)
        event.settings.grants_applications_close = now() + timedelta(days=1)
        event.settings.grants_application_questions = [
            {'id': 'first', 'type': 'boolean', 'question': 'Is this your first conference?', 'required': True}]
    page.goto(f'{site}/pyconf/2027/grants/apply/')
    check(page, errors, shoot, 'apply', 'form.grants-apply-form')
    # the free ticket's checkbox has its label beside it, and no empty label line above it
    assert page.evaluate('''[...document.querySelectorAll('form.grants-apply-form .label-empty')]
                            .filter(e => e.offsetHeight > 1).length''') == 0
    submit_empty(page, 'form.grants-apply-form', 'Send application')
    check(page, errors, shoot, 'apply-errors', 'form.grants-apply-form')
    assert description_of(page, '#id_name') != ''
    with scopes_disabled():
        assert not Grant.objects.exists()
