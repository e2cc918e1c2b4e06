"""Invitation letter requests in pretix's REST API (letter_api.py) and their webhook (webhooks.py)."""
import io
import json

import pytest
import responses
from django_scopes import scope, scopes_disabled
from pretix.api.models import WebHook, WebHookCall
from pretix.base.models import Organizer
from pypdf import PdfReader

from pretix_grants.letters import rules as letters
from pretix_grants.models import Grant, LetterRequest
from pretix_grants.permissions import MANAGE, VIEW

from ..conftest import api_client_for, committed
from .conftest import letter_data, pdf_text

URL = '/api/v1/organizers/pyconf/events/2027/letter_requests/'
TARGET = 'https://hooks.example.org/letters'


def organizers(event):
    """The letters' code as the request pages and the organizer's pages run it: in the organizer's scope."""
    return scope(organizer=event.organizer)


@pytest.fixture
def two(letter_event, grantee, ticket_order):
    with organizers(letter_event):
        a = letters.request_letter(letter_event, letter_data(), grant=grantee)
        b = letters.request_letter(letter_event, letter_data(full_name='Nguyễn Thị Ánh'), order=ticket_order)
    return a, b


@pytest.mark.django_db
def test_list_and_filter(api, two):
    a, b = two
    data = api.get(URL).data
    assert data['count'] == 2
    first = data['results'][0]
    assert first['reference'] == a.reference and first['status'] == 'requested' and first['grant'] == a.grant_id
    assert first['passport_number'] == 'EX1234567' and first['nationality'] == 'PL'
    assert first['verify_url'] is None
    assert data['results'][1]['order'] == b.order.code
    assert [r['id'] for r in api.get(URL + f'?reference={b.reference.lower()}').data['results']] == [b.pk]
    with organizers(a.event):
        letters.approve(a)
    assert [r['id'] for r in api.get(URL + '?status=approved').data['results']] == [a.pk]
    assert api.get(f'{URL}{a.pk}/').data['verify_url'].endswith(f'/pyconf/2027/letters/verify/{a.reference}/')


@pytest.mark.django_db
def test_approve_reject_withdraw(api, two):
    a, b = two
    r = api.post(f'{URL}{a.pk}/approve/', format='json')
    assert r.status_code == 200 and r.data['status'] == 'approved' and r.data['issued_at']
    pdf = api.get(f'{URL}{a.pk}/pdf/')
    assert pdf.status_code == 200 and len(PdfReader(io.BytesIO(pdf.content)).pages) == 1
    r = api.post(f'{URL}{a.pk}/approve/', format='json')
    assert r.status_code == 400 and r.data['status'] == 'approved'
    r = api.post(f'{URL}{b.pk}/reject/', {'reason': 'No ticket for this person.'}, format='json')
    assert r.data['status'] == 'rejected' and r.data['reason'] == 'No ticket for this person.'
    assert api.get(f'{URL}{b.pk}/pdf/').status_code == 404
    r = api.post(f'{URL}{a.pk}/withdraw/', {'reason': 'Mistake'}, format='json')
    assert r.data['status'] == 'cancelled'
    assert api.get(f'{URL}{a.pk}/pdf/').status_code == 404


@pytest.mark.django_db
def test_a_correction_is_validated_like_the_form(api, two):
    with organizers(two[0].event):
        a = letters.approve(two[0])
    r = api.patch(f'{URL}{a.pk}/', {'passport_number': 'A1'}, format='json')
    assert r.status_code == 400 and 'passport_number' in r.data
    r = api.patch(f'{URL}{a.pk}/', {'status': 'approved'}, format='json')
    assert r.status_code == 400 and 'status' in r.data
    r = api.patch(f'{URL}{a.pk}/', {'passport_number': 'ZX 9876543'}, format='json')
    assert r.status_code == 200 and r.data['passport_number'] == 'ZX9876543'
    with scopes_disabled():
        corrected = LetterRequest.objects.get(pk=a.pk)
    with organizers(a.event):
        assert 'ZX9876543' in pdf_text(letters.pdf_content(corrected))[1]


@pytest.mark.django_db
def test_permissions(two, organizer, team_member):
    with scopes_disabled():
        read = organizer.teams.create(name='Read', all_events=True, limit_event_permissions={VIEW: True})
        none = organizer.teams.create(name='None', all_events=True,
                                      limit_event_permissions={'event.orders:read': True})
        manage = organizer.teams.create(name='Manage', all_events=True,
                                        limit_event_permissions={VIEW: True, MANAGE: True})
    client = api_client_for(read)
    assert client.get(URL).status_code == 200
    assert client.post(f'{URL}{two[0].pk}/approve/', format='json').status_code == 403
    assert api_client_for(none).get(URL).status_code == 403
    assert api_client_for(manage).post(f'{URL}{two[0].pk}/approve/', format='json').status_code == 200


@pytest.mark.django_db
def test_another_organizers_token_sees_nothing(two, letter_event):
    with scopes_disabled():
        other = Organizer.objects.create(name='Other', slug='other')
        team = other.teams.create(name='All', all_events=True, all_event_permissions=True)
    client = api_client_for(team)
    assert client.get(URL).status_code in (403, 404)
    assert client.get(f'{URL}{two[0].pk}/').status_code in (403, 404)


@pytest.mark.django_db
def test_the_webhook_carries_states_but_no_passport_data(api, organizer, letter_event, make_grant):
    with scopes_disabled():
        wh = WebHook.objects.create(organizer=organizer, target_url=TARGET)
        wh.listeners.create(action_type='pretix_grants.letter.*')
    grant = make_grant(Grant.STATUS_CONFIRMED)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TARGET, body='ok', status=200)
        with organizers(letter_event), committed():  # the grantee's request page
            letter = letters.request_letter(letter_event, letter_data(), grant=grant)
        with committed():
            api.post(f'{URL}{letter.pk}/approve/', format='json')
        with committed():
            api.post(f'{URL}{letter.pk}/withdraw/', format='json')
        bodies = [c.request.body for c in mock.calls if c.request.url == TARGET]
    payloads = [json.loads(b) for b in bodies]
    assert [(p['action'], p['reference'], p['grant']) for p in payloads] == [
        ('pretix_grants.letter.requested', letter.reference, grant.pk),
        ('pretix_grants.letter.approved', letter.reference, grant.pk),
        ('pretix_grants.letter.cancelled', letter.reference, grant.pk),
    ]
    for body in bodies:
        assert b'EX1234567' not in body and b'1990' not in body
    with scopes_disabled():
        assert WebHookCall.objects.count() == 3
