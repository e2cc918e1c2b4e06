"""
Wording in every language: category names as labels (capitalised where the language wants it), the letter's default
text, the letter's signatory role and contact block in the letter's language, status labels capitalised alike in
filters, lists and badges.
"""
import re

import pytest
from django.test import Client
from django_scopes import scopes_disabled
from i18nfield.strings import LazyI18nString

from pretix_grants.letters import rules as letters

from ..claims.conftest import claim_url, form
from ..control.conftest import url
from ..letters.conftest import letter_data, pdf_text

LABEL = {'en': 'Travel', 'de': 'Reise', 'it': 'Viaggio', 'fr': 'Voyage', 'es': 'Viaje'}


@pytest.mark.django_db
@pytest.mark.parametrize('lang', list(LABEL))
def test_the_category_leads_the_over_claim_error_as_a_label(claim_grant, lang):
    with scopes_disabled():
        claim_grant.event.settings.locales = list(LABEL)
    client = Client()
    client.cookies['pretix_language'] = lang
    r = client.post(claim_url(claim_grant), form('save', travel_amount='300.01'))
    [error] = r.context['form'].errors['travel_amount']
    assert re.match(LABEL[lang] + r'\s?: ', error), error


@pytest.mark.django_db
def test_the_default_letter_names_the_nationality_as_a_label_and_starts_its_sentence_with_a_capital(
        manager_client, letter_event, grantee):
    with scopes_disabled():
        letter = letters.request_letter(letter_event, letter_data(nationality='GB'), grant=grantee, locale='en')
    text = pdf_text(manager_client.get(url(letter_event, f'letters/{letter.pk}/pdf/')).content)[1]
    flat = ' '.join(text.split())
    assert 'a citizen of' not in flat
    assert '(nationality: United Kingdom, born on' in flat
    assert 'To whom it may concern, We are pleased to invite' in flat


@pytest.mark.django_db
def test_the_signatory_role_and_contact_block_are_in_the_letters_language(manager_client, letter_event, grantee):
    with scopes_disabled():
        letter_event.settings.grants_letter_signatory_role = LazyI18nString(
            {'en': 'Chair of the grants committee', 'de': 'Vorsitz des Förderausschusses'})
        letter_event.settings.grants_letter_contact = LazyI18nString(
            {'en': 'PyConf e.V.\nHamburg, Germany', 'de': 'PyConf e.V.\nHamburg, Deutschland'})
        german = letters.request_letter(letter_event, letter_data(), grant=grantee, locale='de')
    text = ' '.join(pdf_text(manager_client.get(url(letter_event, f'letters/{german.pk}/pdf/')).content)[1].split())
    assert 'Vorsitz des Förderausschusses' in text and 'Hamburg, Deutschland' in text
    assert 'Chair of the grants committee' not in text and 'Hamburg, Germany' not in text

    # the settings page asks for both in each of the event's languages
    html = manager_client.get(url(letter_event, 'letters/settings/')).content.decode()
    for field in ('grants_letter_signatory_role', 'grants_letter_contact'):
        assert f'name="{field}_0"' in html and f'name="{field}_1"' in html


@pytest.mark.django_db
def test_a_letter_setting_saved_as_one_language_still_prints(manager_client, letter_event, grantee):
    # what events set up before the settings were multilingual hold: a plain string
    with scopes_disabled():
        letter = letters.request_letter(letter_event, letter_data(), grant=grantee, locale='de')
    text = ' '.join(pdf_text(manager_client.get(url(letter_event, f'letters/{letter.pk}/pdf/')).content)[1].split())
    assert 'Chair of the grants committee' in text and 'visa@pyconf.example' in text


def options(html, name):
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', select)


@pytest.mark.django_db
def test_status_labels_are_capitalised_in_filters_lists_and_badges(manager_client, event, make_grant, queue_letters):
    html = manager_client.get(url(event, '')).content.decode()
    assert all(label[0].isupper() for label in options(html, 'status')), options(html, 'status')
    html = manager_client.get(url(event, 'claims/')).content.decode()
    assert all(label[0].isupper() for label in options(html, 'state')), options(html, 'state')
    html = manager_client.get(url(event, 'letters/')).content.decode()
    assert all(label[0].isupper() for label in options(html, 'status')), options(html, 'status')
    assert re.search(r'<span class="label label-warning">Requested</span>', html)


@pytest.fixture
def queue_letters(letter_event, grantee):
    with scopes_disabled():
        return letters.request_letter(letter_event, letter_data(), grant=grantee)
