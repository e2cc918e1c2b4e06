"""
Every input bounded: a letter's address and consulate have a length limit (the PDF is rendered from them), an
organizer's reason too, and an imported amount is finite and fits the database's numeric(13,2).
"""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scopes_disabled

from pretix_grants.models import Grant, LetterRequest
from pretix_grants.permissions import MANAGE, PERSONAL, VIEW

from ..conftest import api_client_for
from ..control.conftest import url
from ..letters.conftest import form_data

LONG = 'Street 1\n' * 50000  # 450 kB


@pytest.mark.django_db
def test_a_huge_address_or_consulate_is_a_form_error_and_nothing_is_rendered(letter_event, grantee):
    with scopes_disabled():
        secret = grantee.secret
    for field in ('address', 'consulate'):
        r = Client().post(f'/pyconf/2027/grant/{secret}/letter/', form_data(**{field: LONG}))
        assert r.status_code == 200
        assert 'Ensure this value has at most 500 characters' in r.content.decode()
    with scopes_disabled():
        assert not LetterRequest.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_huge_address_and_reason(letter_event, requested_letter):
    with scopes_disabled():
        team = letter_event.organizer.teams.create(name='T', all_events=True, limit_event_permissions={
            VIEW: True, MANAGE: True, PERSONAL: True})
    api = api_client_for(team)
    base = f'/api/v1/organizers/pyconf/events/2027/letter_requests/{requested_letter.pk}/'
    r = api.patch(base, {'address': LONG}, format='json')
    assert r.status_code == 400 and 'address' in r.json()
    r = api.post(base + 'reject/', {'reason': 'x' * 3000}, format='json')
    assert r.status_code == 400 and 'reason' in r.json()
    with scopes_disabled():
        requested_letter.refresh_from_db()
    assert requested_letter.status == LetterRequest.STATUS_REQUESTED and len(requested_letter.address) < 500


@pytest.mark.django_db
@pytest.mark.parametrize('amount', ['NaN', 'nan', 'Infinity', '-inf', '1e11', '1e26', '100000000000'])
def test_an_imported_amount_that_is_no_amount_is_a_row_error(amount, manager_client, event):
    content = f'Full name,E-Mail,Language,Travel\nAda Lovelace,ada@example.org,en,{amount}\nGrace,grace@example.org,en,99999999999.99\n'
    r = manager_client.post(url(event, 'import/'), {'file': SimpleUploadedFile('a.csv', content.encode(), 'text/csv')})
    map_url = r['Location']
    mapping = {'col_name': 'Full name', 'col_email': 'E-Mail', 'col_locale': 'Language', 'col_requested_travel': 'Travel'}
    r = manager_client.post(map_url, {**mapping, 'step': 'preview'})
    assert r.status_code == 200
    rows = {row['line']: ' '.join(row['errors']) for row in r.context['rows']}
    assert 'is not an amount' in rows[2] and rows[3] == ''
    r = manager_client.post(map_url, {**mapping, 'step': 'import'})
    with scopes_disabled():
        assert list(Grant.objects.values_list('email', flat=True)) == ['grace@example.org']
