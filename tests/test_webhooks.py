"""
pretix's webhooks for grants. pretix's webhook task posts with ``requests`` as it would to a customer's
endpoint; ``responses`` answers in place of that endpoint and records the calls, as in pretix's own tests.
"""
import json

import pytest
import responses
from django_scopes import scopes_disabled
from pretix.api.models import WebHook, WebHookCall

from pretix_grants.models import Grant

from .conftest import committed, event_scope

ALL = ['pretix_grants.grant.created', 'pretix_grants.grant.changed', 'pretix_grants.grant.*',
       'pretix_grants.grant.voucher.*']
TARGET = 'https://hooks.example.org/grants'


class Receiver:
    def __init__(self, mock):
        self.mock = mock
        self.url = TARGET

    @property
    def received(self):
        return [json.loads(c.request.body) for c in self.mock.calls if c.request.url == TARGET]


@pytest.fixture
def receiver():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TARGET, body='ok', status=200)
        yield Receiver(mock)


@pytest.fixture
def webhook(organizer, receiver):
    @scopes_disabled()
    def make(action_types=ALL, **kwargs):
        wh = WebHook.objects.create(organizer=organizer, target_url=receiver.url, **kwargs)
        for a in action_types:
            wh.listeners.create(action_type=a)
        return wh
    return make


@pytest.fixture
def url(event):
    return f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/'


def without_ids(payloads):
    return [{k: v for k, v in p.items() if k != 'notification_id'} for p in payloads]


@pytest.mark.django_db
def test_the_grant_webhook_events_are_offered(client, event, user, organizer):
    team = organizer.teams.create(name='Admins', all_events=True, all_event_permissions=True,
                                  all_organizer_permissions=True)
    team.members.add(user)
    client.force_login(user)
    page = client.get(f'/control/organizer/{organizer.slug}/webhook/add').content.decode()
    for label in ('Grant created', 'Grant changed', 'Grant status changed', 'Grant voucher issued'):
        assert label in page


@pytest.mark.django_db
def test_a_programme_over_the_api_calls_the_webhook(api, url, webhook, receiver, grant_settings, event):
    webhook()
    with committed(event.organizer):
        gid = api.post(url, {'name': 'Ada', 'email': 'ada@example.org'}, format='json').data['id']
    with committed(event.organizer):
        api.patch(f'{url}{gid}/', {'internal_note': 'Speaker'}, format='json')
    with committed(event.organizer):
        api.post(f'{url}{gid}/decide/', {'decision': 'approved'}, format='json')
        api.post(f'{url}{gid}/publish/', format='json')
    with committed(event.organizer):
        api.post(f'{url}{gid}/confirm/', format='json')
    with scopes_disabled():
        grant = Grant.objects.get(pk=gid)
    assert grant.voucher_state == Grant.VOUCHER_ISSUED

    base = {'organizer': 'pyconf', 'event': '2027', 'grant': gid}
    assert without_ids(receiver.received) == [
        {**base, 'status': 'pending', 'action': 'pretix_grants.grant.created'},
        {**base, 'status': 'pending', 'action': 'pretix_grants.grant.changed'},
        {**base, 'status': 'approved', 'old_status': 'pending', 'action': 'pretix_grants.grant.approved'},
        {**base, 'status': 'confirmed', 'old_status': 'approved', 'action': 'pretix_grants.grant.confirmed'},
        {**base, 'status': 'confirmed', 'voucher_state': 'issued', 'action': 'pretix_grants.grant.voucher.issued'},
    ]
    # staged decisions and mails are under the same prefix but are not status changes: no call for them
    with scopes_disabled():
        assert WebHookCall.objects.count() == 5 and all(c.success for c in WebHookCall.objects.all())
    ids = [p['notification_id'] for p in receiver.received]
    assert len(set(ids)) == 5


@pytest.mark.django_db
def test_only_after_commit(api, url, webhook, receiver):
    webhook()
    r = api.post(url, {'name': 'Ada', 'email': 'ada@example.org'}, format='json')  # never committed
    assert r.status_code == 201, r.content
    assert receiver.received == []
    with scopes_disabled():
        assert WebHookCall.objects.count() == 0


@pytest.mark.django_db
def test_only_the_subscribed_events(api, url, webhook, receiver, make_grant, organizer):
    webhook(['pretix_grants.grant.*'])
    g = make_grant(decision='rejected')
    with committed(organizer):
        assert api.post(url, {'name': 'Ada', 'email': 'ada@example.org'}, format='json').status_code == 201
        assert api.post(f'{url}{g.pk}/publish/', format='json').status_code == 200
        api.post(f'{url}{g.pk}/cancel/', format='json')  # illegal: logs nothing
    assert [(p['grant'], p['action'], p['status']) for p in receiver.received] == [
        (g.pk, 'pretix_grants.grant.rejected', 'rejected'),
    ]


@pytest.mark.django_db
def test_a_webhook_limited_to_another_event_gets_nothing(api, url, webhook, receiver, organizer):
    from django.utils.timezone import now
    from pretix.base.models import Event

    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='Other', slug='other', date_from=now())
        wh = webhook(all_events=False)
        wh.limit_events.add(other)
    with committed(organizer):
        r = api.post(url, {'name': 'Ada', 'email': 'ada@example.org'}, format='json')
    assert r.status_code == 201, r.content
    assert receiver.received == []


@pytest.mark.django_db
def test_a_linked_voucher_upgraded_on_a_confirmed_grant_is_announced(
        api, url, webhook, receiver, make_grant, grant_settings, event, item):
    from decimal import Decimal

    webhook(['pretix_grants.grant.voucher.*'])
    g = make_grant(Grant.STATUS_CONFIRMED)
    with scopes_disabled():
        event.vouchers.create(code='HALF', item=item, price_mode='percent', value=Decimal('50.00'))
    with committed(event.organizer):
        assert api.post(f'{url}{g.pk}/link_voucher/', {'code': 'half'}, format='json').status_code == 200
    assert without_ids(receiver.received) == [{
        'organizer': 'pyconf', 'event': '2027', 'grant': g.pk, 'status': 'confirmed', 'voucher_state': 'upgraded',
        'action': 'pretix_grants.grant.voucher.upgraded',
    }]


@pytest.mark.django_db
def test_bulk_issuance_announces_each_voucher_to_a_subscribed_webhook(webhook, receiver, make_grant, grant_settings,
                                                                      event, settings):
    from pretix_grants import issuance

    settings.EMAIL_BACKEND = 'django.core.mail.backends.dummy.EmailBackend'
    webhook(['pretix_grants.grant.voucher.*', 'pretix.voucher.added'])
    grants = [make_grant(Grant.STATUS_CONFIRMED) for _ in range(3)]
    with event_scope(event), committed():  # as the bulk action's event task runs it
        issuance.issue_vouchers(event, [g.pk for g in grants])
    received = receiver.received
    assert sorted(p['grant'] for p in received if p['action'] == 'pretix_grants.grant.voucher.issued') == sorted(
        g.pk for g in grants)
    with scopes_disabled():
        vouchers = {Grant.objects.get(pk=g.pk).voucher_id for g in grants}
    assert {p['voucher'] for p in received if p['action'] == 'pretix.voucher.added'} == vouchers
    # the mails that follow are logged on the grants, and announced to nobody
    assert len(received) == 6
