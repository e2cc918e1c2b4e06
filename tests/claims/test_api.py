"""Claims over pretix's REST API, in the grants API's style, and their webhooks."""
import json

import pytest
import responses
from django.core import mail as djmail
from django_scopes import scopes_disabled
from pretix.api.models import WebHook
from pretix.base.models import Organizer

from pretix_grants.models import Claim
from pretix_grants.permissions import VIEW

from ..conftest import api_client_for, committed
from .conftest import IBAN, submitted_claim

TARGET = 'https://hooks.example.org/claims'


@pytest.fixture
def claims_url(past_event):
    return f'/api/v1/organizers/{past_event.organizer.slug}/events/{past_event.slug}/grant_claims/'


@pytest.fixture
def claim(claim_grant):
    c = submitted_claim(claim_grant, '250.00')
    djmail.outbox = []
    return c


@pytest.mark.django_db
def test_claims_are_listed_with_items_receipts_and_payout(api, claims_url, claim, claim_grant):
    r = api.get(claims_url)
    assert r.status_code == 200
    [data] = r.data['results']
    assert data['id'] == claim.pk and data['grant'] == claim_grant.pk and data['state'] == 'submitted'
    assert data['claimed_amount'] == '250.00' and data['approved_amount'] is None
    travel = [i for i in data['items'] if i['category'] == 'travel'][0]
    assert travel['amount'] == '250.00' and travel['receipts'][0]['content_type'] == 'application/pdf'
    assert data['payout'] == {'method': 'bank', 'account_holder': 'Ada Lovelace', 'iban': IBAN, 'bic': '',
                              'other': ''}
    assert api.get(claims_url + '?state=approved').data['count'] == 0
    receipt = travel['receipts'][0]['id']
    r = api.get(f'{claims_url}{claim.pk}/receipts/{receipt}/')
    assert r.status_code == 200 and r['Content-Type'] == 'application/pdf'
    assert api.get(f'{claims_url}{claim.pk}/receipts/{receipt + 1}/').status_code == 404


@pytest.mark.django_db
def test_decisions_over_the_api(api, claims_url, claim):
    r = api.post(f'{claims_url}{claim.pk}/approve/', {'amount': '300.00'}, format='json')
    assert r.status_code == 400 and 'at most the amount claimed' in r.data['detail'] and r.data['state'] == 'submitted'
    r = api.post(f'{claims_url}{claim.pk}/request_changes/', {}, format='json')
    assert r.status_code == 400 and 'message' in r.data
    r = api.post(f'{claims_url}{claim.pk}/approve/', {'amount': '200.00', 'message': 'Partly.'}, format='json')
    assert r.status_code == 200 and r.data['state'] == 'approved' and r.data['approved_amount'] == '200.00'
    assert '€200.00' in djmail.outbox[0].body
    r = api.post(f'{claims_url}{claim.pk}/reject/', {'message': 'No.'}, format='json')
    assert r.status_code == 400 and r.data['state'] == 'approved'
    r = api.post(f'{claims_url}{claim.pk}/mark_paid/', {}, format='json')
    assert r.status_code == 200 and r.data['state'] == 'paid' and r.data['paid_at']
    r = api.post(f'{claims_url}{claim.pk}/mark_paid/', {}, format='json')
    assert r.status_code == 400


@pytest.mark.django_db
def test_a_read_only_token_cannot_decide_and_other_organizers_see_nothing(claims_url, claim, organizer, past_event):
    with scopes_disabled():
        ro = organizer.teams.create(name='RO', all_events=True, limit_event_permissions={VIEW: True})
    c = api_client_for(ro)
    assert c.get(claims_url).status_code == 200
    assert c.post(f'{claims_url}{claim.pk}/approve/', {}, format='json').status_code == 403
    with scopes_disabled():
        other = Organizer.objects.create(name='Other', slug='other')
        c = api_client_for(other.teams.create(name='T', all_events=True, all_event_permissions=True))
    assert c.get(claims_url).status_code in (403, 404)
    with scopes_disabled():
        claim.refresh_from_db()
    assert claim.state == Claim.STATE_SUBMITTED


@pytest.mark.django_db
def test_webhooks_for_submitted_decided_and_paid(api, claims_url, organizer, claim_grant):
    with scopes_disabled():
        wh = WebHook.objects.create(organizer=organizer, target_url=TARGET)
        for a in ('pretix_grants.claim.submitted', 'pretix_grants.claim.*', 'pretix_grants.claim.paid'):
            wh.listeners.create(action_type=a)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TARGET, body='ok', status=200)
        with committed():
            c = submitted_claim(claim_grant, '250.00')
        with committed():
            api.post(f'{claims_url}{c.pk}/approve/', {}, format='json')
        with committed():
            api.post(f'{claims_url}{c.pk}/mark_paid/', {}, format='json')
        got = [json.loads(call.request.body) for call in mock.calls]
    assert [(p['action'], p['state'], p['old_state']) for p in got] == [
        ('pretix_grants.claim.submitted', 'submitted', 'draft'),
        ('pretix_grants.claim.approved', 'approved', 'submitted'),
        ('pretix_grants.claim.paid', 'paid', 'approved'),
    ]
    assert all(p['claim'] == c.pk and p['grant'] == claim_grant.pk and p['event'] == '2027' for p in got)
    assert all(IBAN not in json.dumps(p) for p in got)
