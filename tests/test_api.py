from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import Event, LogEntry, Organizer, Voucher
from pretix.base.services.vouchers import vouchers_send
from rest_framework.test import APIClient

from pretix_grants import workflow
from pretix_grants.models import Grant, GrantMail
from pretix_grants.permissions import MANAGE, VIEW

from .checkout import Shop
from .conftest import api_client_for as client_for, committed, mails_to


@pytest.fixture
def team(api_team):
    return api_team


@pytest.fixture
def url(event):
    return f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/'


def post(api, url, data=None):
    return api.post(url, data or {}, format='json')


def logged(grant, action):
    return LogEntry.objects.filter(object_id=grant.pk, action_type=action, content_type__model='grant')


# list


@pytest.mark.django_db
def test_list_is_paginated_in_pretix_style(api, url, make_grant):
    g = make_grant(name='Ada Lovelace', email='ada@example.org')
    r = api.get(url)
    assert r.status_code == 200
    assert r.data['count'] == 1 and r.data['next'] is None and r.data['previous'] is None
    res = r.data['results'][0]
    assert res['id'] == g.pk
    assert res['subevent'] is None
    assert set(res) == {'id', 'name', 'email', 'locale', 'grant_type', 'subevent', 'status', 'decision', 'reply_deadline',
                        'amounts',
                        'internal_note', 'voucher', 'voucher_state', 'needs_attention', 'reply_url', 'created',
                        'modified', 'requested', 'justification', 'motivation', 'answers', 'reviews'}
    assert res['amounts'] == {'ticket': True, 'travel': '300.00', 'accommodation': '0.00', 'other': '0.00'}
    assert res['reply_url'].endswith(f'/pyconf/2027/grant/{g.secret}/')


@pytest.mark.django_db
def test_list_filters_search_and_ordering(api, url, make_grant):
    a = make_grant(name='Zoe', email='Zoe@Example.org')
    b = make_grant(Grant.STATUS_APPROVED, name='Bob', email='bob@example.org')
    c = make_grant(name='Carla', email='carla@example.org', decision=Grant.STATUS_REJECTED)
    d = make_grant(Grant.STATUS_CONFIRMED, name='Dan', email='dan@example.org',
                   voucher_state=Grant.VOUCHER_NEEDS_ATTENTION, voucher_attention='No quota is left.')

    def ids(query):
        r = api.get(url + query)
        assert r.status_code == 200, r.data
        return [x['id'] for x in r.data['results']]

    assert ids('?status=pending') == [a.pk, c.pk]
    assert ids('?status=approved') == [b.pk]
    assert ids('?decision=rejected') == [c.pk]
    assert ids('?voucher_state=needs_attention') == [d.pk]
    assert ids('?email=zoe@example.ORG') == [a.pk]
    assert ids('?search=arl') == [c.pk]
    assert ids('?search=bob@') == [b.pk]
    assert ids('?ordering=name') == [b.pk, c.pk, d.pk, a.pk]
    assert ids('?ordering=-created') == [d.pk, c.pk, b.pk, a.pk]
    assert ids('?ordering=status')[:2] == [b.pk, d.pk]  # approved, confirmed, pending, pending
    assert api.get(url + '?status=nonsense').status_code == 400
    assert api.get(url + f'{d.pk}/').data['needs_attention'] == 'No quota is left.'


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_grants(api, url, make_grant, event, item):
    @scopes_disabled()
    def create(n):
        Grant.objects.all().delete()
        for i in range(n):
            g = make_grant(Grant.STATUS_CONFIRMED)
            g.voucher = event.vouchers.create(code=f'Q{n}X{i}', item=item, price_mode='set', value=Decimal('0'))
            g.voucher_state = Grant.VOUCHER_ISSUED
            g.save()

    def count(n):
        create(n)
        with CaptureQueriesContext(connection) as ctx:
            r = api.get(url + '?limit=100')
        assert r.data['count'] == n
        return len(ctx.captured_queries)

    count(1)  # warm caches
    five, fifty = count(5), count(50)
    print(f"\nqueries for the list: {five} (5 grants), {fifty} (50 grants)")
    assert five == fifty


# create


@pytest.mark.django_db
def test_create_with_amounts_sends_the_received_mail_and_logs_the_token(api, url, team, event):
    r = post(api, url, {
        'name': 'Ada Lovelace', 'email': 'ada@example.org', 'locale': 'de',
        'amounts': {'ticket': False, 'travel': '300.50', 'accommodation': '120', 'other': '0'},
        'internal_note': 'Speaker', 'reply_deadline': '2027-01-31T12:00:00Z',
    })
    assert r.status_code == 201, r.data
    with scopes_disabled():
        g = Grant.objects.get(pk=r.data['id'])
    assert (g.name, g.email, g.locale, g.status, g.ticket) == ('Ada Lovelace', 'ada@example.org', 'de', 'pending', False)
    assert (g.travel_amount, g.accommodation_amount, g.other_amount) == (Decimal('300.50'), Decimal('120'), 0)
    assert g.internal_note == 'Speaker' and g.reply_deadline.year == 2027
    assert r.data['amounts'] == {'ticket': False, 'travel': '300.50', 'accommodation': '120.00', 'other': '0.00'}
    assert r.data['status'] == 'pending' and r.data['voucher'] is None
    assert len(mails_to('ada@example.org')) == 1
    entry = logged(g, 'pretix_grants.grant.created').get()
    assert entry.api_token.team == team and entry.user is None


@pytest.mark.django_db
def test_create_minimal_uses_the_defaults(api, url):
    r = post(api, url, {'name': 'Bo', 'email': 'bo@example.org'})
    assert r.status_code == 201
    assert r.data['locale'] == 'en'
    assert r.data['amounts'] == {'ticket': True, 'travel': '0.00', 'accommodation': '0.00', 'other': '0.00'}


@pytest.mark.parametrize('data,field', [
    ({'email': 'x@example.org'}, 'name'),
    ({'name': 'X'}, 'email'),
    ({'name': 'X', 'email': 'not-an-email'}, 'email'),
    ({'name': 'X', 'email': 'x@example.org', 'locale': 'fr'}, 'locale'),
    ({'name': 'X', 'email': 'x@example.org', 'amounts': {'travel': '-1.00'}}, 'amounts'),
    ({'name': 'X', 'email': 'x@example.org', 'amounts': {'travel': 'lots'}}, 'amounts'),
    ({'name': 'X', 'email': 'x@example.org', 'amounts': {'ticket': 'perhaps'}}, 'amounts'),
    ({'name': 'X', 'email': 'x@example.org', 'reply_deadline': 'tomorrow'}, 'reply_deadline'),
    ({'name': 'X', 'email': 'x@example.org', 'status': 'approved'}, 'status'),
    ({'name': 'X', 'email': 'x@example.org', 'decision': 'approved'}, 'decision'),
])
@pytest.mark.django_db
def test_create_rejects_bad_input_naming_the_field(api, url, data, field):
    r = post(api, url, data)
    assert r.status_code == 400
    assert field in r.data
    with scopes_disabled():
        assert not Grant.objects.exists() and not djmail.outbox


@pytest.mark.django_db
def test_create_read_only_fields_say_which_action_to_use(api, url):
    r = post(api, url, {'name': 'X', 'email': 'x@example.org', 'status': 'approved', 'decision': 'approved'})
    assert 'decide/publish/confirm/refuse/cancel' in str(r.data['status'][0])
    assert 'decide action' in str(r.data['decision'][0])


@pytest.mark.django_db
def test_create_duplicate_email_names_the_field(api, url, make_grant):
    make_grant(email='ada@example.org')
    r = post(api, url, {'name': 'Ada', 'email': 'ADA@example.org'})
    assert r.status_code == 400
    assert 'already is a grant for this email' in str(r.data['email'][0])
    with scopes_disabled():
        assert Grant.objects.count() == 1


# read, change, delete


@pytest.mark.django_db
def test_retrieve_and_unknown_id(api, url, make_grant, organizer):
    g = make_grant()
    r = api.get(f'{url}{g.pk}/')
    assert r.status_code == 200 and r.data['email'] == g.email
    assert api.get(f'{url}{g.pk + 1000}/').status_code == 404
    assert post(api, f'{url}{g.pk + 1000}/confirm/').status_code == 404
    # a grant of another event of the same organizer is unknown here too
    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='Other', slug='other', date_from=now(),
                                     plugins='pretix_grants')
        og = Grant.objects.create(event=other, name='O', email='o@example.org')
    assert api.get(f'{url}{og.pk}/').status_code == 404


@pytest.mark.django_db
def test_patch_changes_plain_fields_and_logs(api, url, make_grant, team):
    g = make_grant()
    r = api.patch(f'{url}{g.pk}/', {'name': 'New Name', 'amounts': {'accommodation': '80.00'},
                                    'internal_note': 'ok'}, format='json')
    assert r.status_code == 200, r.data
    assert r.data['name'] == 'New Name' and r.data['amounts']['accommodation'] == '80.00'
    assert r.data['amounts']['travel'] == '300.00'
    g.refresh_from_db()
    assert (g.name, g.accommodation_amount, g.travel_amount, g.internal_note) == (
        'New Name', Decimal('80.00'), Decimal('300.00'), 'ok')
    entry = logged(g, 'pretix_grants.grant.changed').get()
    assert entry.api_token.team == team
    assert entry.parsed_data == {'name': 'New Name', 'accommodation_amount': '80.00', 'internal_note': 'ok'}


@pytest.mark.django_db
def test_put_replaces_the_writable_fields(api, url, make_grant):
    g = make_grant(internal_note='old')
    r = api.put(f'{url}{g.pk}/', {'name': 'Put Name', 'email': g.email, 'amounts': {'travel': '10.00'}},
                format='json')
    assert r.status_code == 200, r.data
    g.refresh_from_db()
    assert (g.name, g.travel_amount, g.internal_note) == ('Put Name', Decimal('10.00'), 'old')
    assert api.put(f'{url}{g.pk}/', {'name': 'No email'}, format='json').status_code == 400


@pytest.mark.parametrize('data,field,hint', [
    ({'status': 'approved'}, 'status', 'publish'),
    ({'decision': 'approved'}, 'decision', 'decide'),
    ({'voucher': 'ABC'}, 'voucher', 'link_voucher'),
])
@pytest.mark.django_db
def test_patch_of_status_or_decision_names_the_action(api, url, make_grant, data, field, hint):
    g = make_grant()
    r = api.patch(f'{url}{g.pk}/', dict(data, name='Changed'), format='json')
    assert r.status_code == 400 and hint in str(r.data[field][0])
    g.refresh_from_db()
    assert g.status == 'pending' and g.decision is None and g.name != 'Changed'


@pytest.mark.django_db
def test_patch_to_an_email_in_use_names_the_field(api, url, make_grant):
    make_grant(email='taken@example.org')
    g = make_grant()
    r = api.patch(f'{url}{g.pk}/', {'email': 'Taken@example.org'}, format='json')
    assert r.status_code == 400 and 'email' in r.data
    assert api.patch(f'{url}{g.pk}/', {'email': g.email.upper()}, format='json').status_code == 200


@pytest.mark.django_db
def test_delete_without_voucher(api, url, make_grant, team):
    g = make_grant()
    r = api.delete(f'{url}{g.pk}/')
    assert r.status_code == 204
    with scopes_disabled():
        assert not Grant.objects.filter(pk=g.pk).exists()
    entry = LogEntry.objects.get(action_type='pretix_grants.grant.deleted', object_id=g.pk)
    assert entry.api_token.team == team and entry.parsed_data['email'] == g.email
    assert api.delete(f'{url}{g.pk}/').status_code == 404


@pytest.mark.django_db
def test_delete_with_voucher_is_refused(api, url, approved_grant):
    with scope(organizer=approved_grant.event.organizer), committed():  # as the grantee's reply page confirms
        workflow.confirm(approved_grant)
    approved_grant.refresh_from_db()
    code = approved_grant.voucher.code
    r = api.delete(f'{url}{approved_grant.pk}/')
    assert r.status_code == 400
    assert code in r.data['detail'] and 'Cancel or refuse' in r.data['detail']
    with scopes_disabled():
        assert Grant.objects.filter(pk=approved_grant.pk).exists() and Voucher.objects.filter(code=code).exists()


# actions


@pytest.mark.django_db
def test_decide_stages_without_sending(api, url, make_grant, team):
    g = make_grant()
    r = post(api, f'{url}{g.pk}/decide/', {'decision': 'waiting_list'})
    assert r.status_code == 200 and r.data['decision'] == 'waiting_list' and r.data['status'] == 'pending'
    assert not djmail.outbox
    assert logged(g, 'pretix_grants.grant.decision').get().api_token.team == team
    r = post(api, f'{url}{g.pk}/decide/', {'decision': None})
    assert r.status_code == 200 and r.data['decision'] is None


@pytest.mark.django_db
def test_decide_bad_input(api, url, make_grant):
    g = make_grant()
    assert 'decision' in post(api, f'{url}{g.pk}/decide/', {}).data
    r = post(api, f'{url}{g.pk}/decide/', {'decision': 'confirmed'})
    assert r.status_code == 400 and 'decision' in r.data


@pytest.mark.django_db
def test_decide_illegal_transition_names_the_status(api, url, make_grant):
    g = make_grant(Grant.STATUS_REJECTED)
    r = post(api, f'{url}{g.pk}/decide/', {'decision': 'approved'})
    assert r.status_code == 400
    assert r.data['detail'] == 'A grant that is "rejected" cannot become "approved, awaiting reply" (organizer).'
    g.refresh_from_db()
    assert g.decision is None


@pytest.mark.django_db
def test_publish_sends_the_decision(api, url, make_grant, grant_settings):
    g = make_grant(decision=Grant.STATUS_APPROVED)
    r = post(api, f'{url}{g.pk}/publish/')
    assert r.status_code == 200, r.data
    assert r.data['status'] == 'approved' and r.data['decision'] is None and r.data['reply_deadline']
    assert len(mails_to(g.email)) == 1


@pytest.mark.django_db
def test_publish_without_staged_decision(api, url, make_grant):
    g = make_grant()
    r = post(api, f'{url}{g.pk}/publish/')
    assert r.status_code == 400
    assert r.data['detail'] == 'There is no staged decision to publish. The grant is "pending".'
    assert not djmail.outbox


@pytest.mark.django_db
def test_confirm_issues_the_voucher(api, url, approved_grant, team, item):
    with committed(approved_grant.event.organizer):
        r = post(api, f'{url}{approved_grant.pk}/confirm/', {'reason': 'replied by email'})
    assert r.status_code == 200 and r.data['status'] == 'confirmed'
    approved_grant.refresh_from_db()
    v = approved_grant.voucher
    assert v.item == item and v.calculate_price(item.default_price) == Decimal('0.00')
    entry = logged(approved_grant, 'pretix_grants.grant.confirmed').get()
    assert entry.api_token.team == team
    assert entry.parsed_data['reason'] == 'replied by email' and entry.parsed_data['actor'] == 'organizer'
    r = api.get(f'{url}{approved_grant.pk}/')
    assert r.data['voucher'] == v.code and r.data['voucher_state'] == 'issued'
    assert [m.subject for m in mails_to('ada@example.org')] and v.code in mails_to('ada@example.org')[0].body


@pytest.mark.django_db
def test_confirm_of_a_pending_grant_is_refused(api, url, make_grant):
    g = make_grant()
    r = post(api, f'{url}{g.pk}/confirm/')
    assert r.status_code == 400 and '"pending"' in r.data['detail']
    g.refresh_from_db()
    assert g.status == 'pending'
    assert not logged(g, 'pretix_grants.grant.confirmed').exists()


@pytest.mark.django_db
def test_refuse_releases_the_voucher(api, url, approved_grant, item):
    with committed(approved_grant.event.organizer):
        post(api, f'{url}{approved_grant.pk}/confirm/')
    approved_grant.refresh_from_db()
    code = approved_grant.voucher.code
    r = post(api, f'{url}{approved_grant.pk}/refuse/', {'reason': 'cannot travel'})
    assert r.status_code == 200 and r.data['status'] == 'refused' and r.data['voucher'] is None
    assert Shop(approved_grant.event).free_tickets(code, item) == 0  # ended: pretix's checkout refuses it
    r = post(api, f'{url}{approved_grant.pk}/refuse/')
    assert r.status_code == 400 and '"refused"' in r.data['detail']


@pytest.mark.django_db
def test_cancel(api, url, approved_grant, make_grant):
    r = post(api, f'{url}{approved_grant.pk}/cancel/', {'reason': 'budget'})
    assert r.status_code == 200 and r.data['status'] == 'cancelled'
    assert logged(approved_grant, 'pretix_grants.grant.cancelled').get().parsed_data['reason'] == 'budget'
    g = make_grant()
    r = post(api, f'{url}{g.pk}/cancel/')
    assert r.status_code == 400 and '"pending"' in r.data['detail']
    assert post(api, f'{url}{g.pk}/cancel/', {'reason': ['a', 'b']}).status_code == 400


@pytest.mark.django_db
def test_resend_voucher(api, url, approved_grant):
    r = post(api, f'{url}{approved_grant.pk}/resend_voucher/')
    assert r.status_code == 400 and 'no voucher' in r.data['detail'] and '"approved, awaiting reply"' in r.data['detail']
    with committed(approved_grant.event.organizer):
        post(api, f'{url}{approved_grant.pk}/confirm/')
    approved_grant.refresh_from_db()
    djmail.outbox = []
    r = post(api, f'{url}{approved_grant.pk}/resend_voucher/')
    assert r.status_code == 200
    [m] = mails_to('ada@example.org')
    assert approved_grant.voucher.code in m.body
    with scopes_disabled():
        assert Voucher.objects.count() == 1


@pytest.mark.django_db
def test_link_voucher_by_code_case_insensitive(api, url, make_grant, event, item, grant_settings, team):
    g = make_grant(Grant.STATUS_APPROVED)
    with scopes_disabled():
        v = event.vouchers.create(code='SPEAKER25', item=item, price_mode='percent', value=Decimal('25.00'))
    r = post(api, f'{url}{g.pk}/link_voucher/', {'code': 'speaker25'})
    assert r.status_code == 200, r.data
    assert r.data['voucher'] == 'SPEAKER25' and r.data['voucher_state'] == 'not_issued'
    assert logged(g, 'pretix_grants.grant.voucher.assigned').get().api_token.team == team
    # on confirmation the linked voucher is the one upgraded, code kept
    with committed(event.organizer):
        r = post(api, f'{url}{g.pk}/confirm/')
    r = api.get(f'{url}{g.pk}/')
    assert r.data['voucher'] == 'SPEAKER25' and r.data['voucher_state'] == 'upgraded'
    v.refresh_from_db()
    assert v.calculate_price(item.default_price) == Decimal('0.00')
    with scopes_disabled():
        assert Voucher.objects.count() == 1


@pytest.mark.django_db
def test_link_voucher_to_a_confirmed_grant_uses_it_at_once(api, url, make_grant, event, item, grant_settings):
    g = make_grant(Grant.STATUS_CONFIRMED)
    with scopes_disabled():
        event.vouchers.create(code='FREE1', item=item, price_mode='set', value=Decimal('0.00'))
    r = post(api, f'{url}{g.pk}/link_voucher/', {'code': 'free1'})
    assert r.status_code == 200
    assert r.data['voucher'] == 'FREE1' and r.data['voucher_state'] == 'linked'
    assert 'FREE1' in mails_to(g.email)[0].body
    r = post(api, f'{url}{g.pk}/link_voucher/', {'code': 'FREE1'})
    assert r.status_code == 400 and 'already holds voucher FREE1' in r.data['detail']


@pytest.mark.django_db
def test_link_voucher_errors(api, url, make_grant, event, item, organizer):
    g, other = make_grant(), make_grant()
    with scopes_disabled():
        v = event.vouchers.create(code='TAKEN', item=item)
        other.voucher = v
        other.save()
        second = Event.objects.create(organizer=organizer, name='B', slug='b', date_from=now())
        second.vouchers.create(code='ELSEWHERE')
    for code, message in [('TAKEN', 'already linked to another grant'), ('NOPE', 'no voucher with the code'),
                          ('ELSEWHERE', 'no voucher with the code')]:
        r = post(api, f'{url}{g.pk}/link_voucher/', {'code': code})
        assert r.status_code == 400 and message in r.data['detail'], r.data
    assert 'code' in post(api, f'{url}{g.pk}/link_voucher/', {}).data
    g.refresh_from_db()
    assert g.voucher is None
    ended = make_grant(Grant.STATUS_REFUSED)
    with scopes_disabled():
        event.vouchers.create(code='FREE')
    r = post(api, f'{url}{ended.pk}/link_voucher/', {'code': 'FREE'})
    assert r.status_code == 400 and '"refused"' in r.data['detail']


# publishing many


def run_bulk_publish(api, url, data=None):
    r = post(api, f'{url}publish/', data)
    assert r.status_code == 202, r.data
    return api.get(r.data['status'])


@pytest.mark.django_db
def test_bulk_publish_all_staged(api, url, make_grant, grant_settings):
    staged = [make_grant(decision=d) for d in ('approved', 'waiting_list', 'rejected')]
    untouched = make_grant()
    r = run_bulk_publish(api, url)
    assert r.status_code == 200
    assert r.data['status'] == 'ok' and r.data['published'] == 3 and r.data['failed'] == 0
    assert [(x['id'], x['status']) for x in r.data['results']] == [
        (staged[0].pk, 'approved'), (staged[1].pk, 'waiting_list'), (staged[2].pk, 'rejected')]
    for g in staged:
        assert len(mails_to(g.email)) == 1
    untouched.refresh_from_db()
    assert untouched.status == 'pending' and not mails_to(untouched.email)


@pytest.mark.django_db
def test_bulk_publish_selected_ids_reports_each(api, url, make_grant, grant_settings, team):
    a, b, c = make_grant(decision='approved'), make_grant(decision='approved'), make_grant()
    r = run_bulk_publish(api, url, {'ids': [a.pk, c.pk]})
    assert r.data['published'] == 1 and r.data['failed'] == 1
    assert r.data['results'][1] == {'id': c.pk, 'published': False, 'status': 'pending',
                                    'detail': 'There is no staged decision to publish.'}
    b.refresh_from_db()
    assert b.status == 'pending' and b.decision == 'approved'
    assert logged(a, 'pretix_grants.grant.approved').get().api_token.team == team


@pytest.mark.django_db
def test_bulk_publish_bad_input_and_foreign_result(api, url, make_grant, organizer):
    g = make_grant(decision='approved')
    r = post(api, f'{url}publish/', {'ids': [g.pk, 999999]})
    assert r.status_code == 400 and '999999' in str(r.data['ids'])
    assert post(api, f'{url}publish/', {'ids': 'all'}).status_code == 400
    g.refresh_from_db()
    assert g.status == 'pending'
    r = post(api, f'{url}publish/')
    other = client_for(organizer.teams.create(name='Other', all_events=True, all_event_permissions=True))
    assert other.get(r.data['status']).status_code == 410


# permissions


@pytest.mark.django_db
def test_no_credentials(url):
    assert APIClient().get(url).status_code == 401


@pytest.mark.django_db
def test_token_of_another_organizer(url, make_grant):
    g = make_grant()
    with scopes_disabled():
        other = Organizer.objects.create(name='Other', slug='other')
    c = client_for(other.teams.create(name='T', all_events=True, all_event_permissions=True))
    assert c.get(url).status_code == 403
    assert c.get(f'{url}{g.pk}/').status_code == 403
    assert post(c, f'{url}{g.pk}/cancel/').status_code == 403


@pytest.mark.django_db
def test_team_without_this_event(url, organizer, make_grant):
    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='B', slug='b', date_from=now())
    team = organizer.teams.create(name='B only', all_events=False, all_event_permissions=True)
    team.limit_events.add(other)
    assert client_for(team).get(url).status_code == 403


@pytest.mark.django_db
def test_view_permission_reads_but_does_not_write(url, organizer, make_grant):
    g = make_grant()
    viewer = client_for(organizer.teams.create(name='V', all_events=True, limit_event_permissions={VIEW: True}))
    assert viewer.get(url).status_code == 200
    assert viewer.get(f'{url}{g.pk}/').status_code == 200
    assert post(viewer, url, {'name': 'X', 'email': 'x@example.org'}).status_code == 403
    assert viewer.patch(f'{url}{g.pk}/', {'name': 'X'}, format='json').status_code == 403
    assert viewer.delete(f'{url}{g.pk}/').status_code == 403
    for a in ('decide', 'publish', 'confirm', 'refuse', 'cancel', 'link_voucher', 'resend_voucher'):
        assert post(viewer, f'{url}{g.pk}/{a}/').status_code == 403, a
    assert post(viewer, f'{url}publish/').status_code == 403
    g.refresh_from_db()
    with scopes_disabled():
        assert g.name != 'X' and Grant.objects.count() == 1


@pytest.mark.django_db
def test_team_without_grant_permissions(url, organizer, make_grant):
    g = make_grant()
    nothing = client_for(organizer.teams.create(name='N', all_events=True,
                                                limit_event_permissions={'event.vouchers:read': True}))
    assert nothing.get(url).status_code == 403
    assert nothing.get(f'{url}{g.pk}/').status_code == 403
    manager = client_for(organizer.teams.create(name='M', all_events=True,
                                                limit_event_permissions={VIEW: True, MANAGE: True}))
    assert post(manager, f'{url}{g.pk}/decide/', {'decision': 'approved'}).status_code == 200


@pytest.mark.django_db
def test_plugin_not_enabled(api, url, event, make_grant):
    g = make_grant()
    event.plugins = ''
    event.save()
    for r in (api.get(url), api.get(f'{url}{g.pk}/'), post(api, url, {'name': 'X', 'email': 'x@example.org'}),
              post(api, f'{url}{g.pk}/cancel/'), post(api, f'{url}publish/')):
        assert r.status_code == 404
        assert r.data['detail'] == 'The grants plugin is not enabled for this event.'
    with scopes_disabled():
        assert Grant.objects.count() == 1


# a whole programme, over the API only


@pytest.mark.django_db
def test_full_programme_over_the_api(api, url, event, item, grant_settings, user, team):
    # a co-speaker got a 25% voucher earlier, sent with pretix's own "send by email"
    with scopes_disabled():
        speaker_voucher = event.vouchers.create(code='COSPEAKER25', item=item, price_mode='percent',
                                                value=Decimal('25.00'), max_usages=1)
    with scope(organizer=event.organizer):  # as pretix's voucher bulk creation sends them, in its request
        vouchers_send(event, [speaker_voucher.pk], 'Your code', 'Hello, your code: {voucher_list}', [
            {'email': 'grantee7@example.org', 'number': 1, 'name': 'Speaker'},
        ], user.pk)
    djmail.outbox = []

    ids = []
    for i in range(1, 21):
        r = post(api, url, {'name': f'Grantee {i}', 'email': f'grantee{i}@example.org',
                            'amounts': {'travel': '250.00'} if i % 2 else {'ticket': True}})
        assert r.status_code == 201
        ids.append(r.data['id'])
    assert len(djmail.outbox) == 20

    decisions = {gid: 'approved' for gid in ids[:12]}
    decisions.update({gid: 'waiting_list' for gid in ids[12:16]})
    decisions.update({gid: 'rejected' for gid in ids[16:]})
    for gid, d in decisions.items():
        assert post(api, f'{url}{gid}/decide/', {'decision': d}).status_code == 200
    assert len(djmail.outbox) == 20  # staging sends nothing

    r = run_bulk_publish(api, url)
    assert r.data['published'] == 20 and r.data['failed'] == 0
    assert len(djmail.outbox) == 40
    assert api.get(url + '?status=approved').data['count'] == 12

    confirmed, refused, cancelled = ids[:8], ids[8], ids[9]
    with committed(event.organizer):
        for gid in confirmed:
            assert post(api, f'{url}{gid}/confirm/').status_code == 200
    assert post(api, f'{url}{refused}/refuse/', {'reason': 'visa'}).status_code == 200
    assert post(api, f'{url}{cancelled}/cancel/').status_code == 200
    with committed(event.organizer):
        # withdraws after confirming: the voucher goes away again
        assert post(api, f'{url}{ids[0]}/confirm/').status_code == 200
    assert post(api, f'{url}{ids[0]}/refuse/').status_code == 200

    grants = {g['id']: g for g in api.get(url + '?limit=50').data['results']}
    holding = [gid for gid in ids if grants[gid]['voucher']]
    assert holding == ids[1:8]
    assert grants[ids[6]]['voucher'] == 'COSPEAKER25' and grants[ids[6]]['voucher_state'] == 'upgraded'
    assert {grants[gid]['voucher_state'] for gid in holding if gid != ids[6]} == {'issued'}
    # pretix holds exactly these usable vouchers: six new free ones and the upgraded speaker code (the withdrawn
    # grant's voucher is ended: no use left)
    codes = {grants[gid]['voucher'] for gid in holding}
    with scopes_disabled():
        assert set(Voucher.objects.filter(event=event, max_usages__gt=0).values_list('code', flat=True)) == codes
        assert Voucher.objects.filter(event=event, max_usages=0).count() == 1
        for v in Voucher.objects.filter(event=event, max_usages__gt=0):
            assert v.item == item and v.calculate_price(item.default_price) == Decimal('0.00')
            assert v.redeemed == 0 and v.max_usages == 1
        speaker_voucher.refresh_from_db()
        assert speaker_voucher.price_mode == 'set' and speaker_voucher.value == Decimal('0.00')
        # every holder got exactly one voucher mail with their code; the others none
        for gid in ids:
            g = grants[gid]
            sent = GrantMail.objects.filter(grant_id=gid, kind=GrantMail.KIND_VOUCHER).count()
            if g['voucher']:
                assert sent == 1
                assert len([m for m in mails_to(g['email']) if g['voucher'] in m.body]) == 1
            else:
                assert sent == (1 if gid == ids[0] else 0)
        statuses = {gid: grants[gid]['status'] for gid in ids}
        assert [statuses[gid] for gid in ids[:10]] == ['refused'] + ['confirmed'] * 7 + ['refused', 'cancelled']
        assert set(statuses[gid] for gid in ids[10:12]) == {'approved'}
        assert LogEntry.objects.filter(content_type__model='grant', api_token__isnull=True).filter(
            action_type__in=['pretix_grants.grant.created', 'pretix_grants.grant.confirmed']).count() == 0
        assert Grant.objects.filter(reply_deadline__gt=now() + timedelta(days=1)).count() >= 12


@pytest.mark.django_db
def test_bulk_publish_status_while_the_task_runs(organizer, url, team):
    from pretix.base.models import CachedFile

    token = team.tokens.create(name='poller')
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION='Token ' + token.token)
    cf = CachedFile.objects.create(filename='publish.json', type='application/json',
                                   session_key=f'token:{token.pk}!grants-publish', web_download=False)
    r = c.get(f'{url}publish/some-task/{cf.id}/')
    assert r.status_code == 409 and r.data == {'status': 'waiting'}
    assert c.get(f'{url}publish/some-task/7d7f1c1e-0000-4000-8000-000000000000/').status_code == 410


@pytest.mark.django_db
def test_oauth_application_scopes(url, organizer, user, make_grant):
    from pretix.api.models import OAuthAccessToken, OAuthApplication

    g = make_grant()
    team = organizer.teams.create(name='Members', all_events=True, all_event_permissions=True)
    team.members.add(user)
    app = OAuthApplication.objects.create(name='Grant dashboard', redirect_uris='https://example.org/cb',
                                          client_type='confidential', authorization_grant_type='authorization-code')

    def client(scope, token):
        t = OAuthAccessToken.objects.create(user=user, application=app, token=token, scope=scope,
                                            expires=now() + timedelta(hours=1))
        t.organizers.add(organizer)
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION='Bearer ' + token)
        return c

    reader = client('read', 'read-token')
    assert reader.get(url).status_code == 200
    assert post(reader, f'{url}{g.pk}/decide/', {'decision': 'approved'}).status_code == 403
    writer = client('read write', 'write-token')
    assert post(writer, f'{url}{g.pk}/decide/', {'decision': 'approved'}).status_code == 200
    entry = logged(g, 'pretix_grants.grant.decision').get()
    assert entry.oauth_application == app and entry.user == user
