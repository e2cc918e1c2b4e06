"""
The plugin never breaks pretix's own flows: with the plugin's code made to fail, pretix's checkout, order changes,
check-in and voucher API still go through (and send their mails); the failure is logged. Run as production runs
them: no suite-wide scope, requests through the test client, pretix's tasks in the organizer's scope.
"""
import logging

import pytest
from django.core import mail as djmail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import Event, LogEntry, Order, Voucher

from pretix_grants import issuance, lifecycle, shredder, signals, workflow
from pretix_grants.letters import rules as letters, signals as letter_signals
from pretix_grants.models import Grant

from ..conftest import committed, mails_to
from ..test_shredder import run_shredder
from .flows import checkout

pytestmark = pytest.mark.django_db


def broken(*args, **kwargs):
    raise RuntimeError('the plugin is broken')


@pytest.fixture
def confirmed(approved_grant, event):
    with scope(organizer=event.organizer), committed():  # as the grantee's reply page runs it
        workflow.confirm(approved_grant)
    with scopes_disabled():
        approved_grant.refresh_from_db()
        assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED
        approved_grant.voucher.event  # noqa: B018 (loaded with the grant for the tests' own reads)
    djmail.outbox = []
    return approved_grant


@pytest.fixture
def org_api(event, api):
    return api, f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/'


def test_checkout_with_a_grant_voucher_goes_through_when_the_plugin_fails(confirmed, event, item, monkeypatch, caplog):
    monkeypatch.setattr(lifecycle, 'on_order_changed', broken)
    with caplog.at_level(logging.ERROR, logger='pretix_grants.signals'):
        order = checkout(event, item, confirmed.voucher.code)

    assert order.status == Order.STATUS_PAID and order.total == 0
    [confirmation] = mails_to('ada@example.org')
    assert order.code in confirmation.body
    assert 'pretix carries on' in caplog.text and 'the plugin is broken' in caplog.text


@pytest.mark.parametrize('module, name', [(lifecycle, 'on_order_changed'), (letters, 'on_order_ended')],
                         ids=['lifecycle', 'letters'])
def test_an_order_cancelled_through_the_api_goes_through_when_the_plugin_fails(
        confirmed, event, item, org_api, monkeypatch, caplog, module, name):
    order = checkout(event, item, confirmed.voucher.code)
    djmail.outbox = []
    monkeypatch.setattr(module, name, broken)
    client, base = org_api
    with caplog.at_level(logging.ERROR, logger='pretix_grants.signals'), committed():
        r = client.post(f'{base}orders/{order.code}/mark_canceled/', {'send_email': True}, format='json')

    assert r.status_code == 200, r.content
    with scopes_disabled():
        order.refresh_from_db()
    assert order.status == Order.STATUS_CANCELED
    [cancelled] = mails_to('ada@example.org')
    assert order.code in cancelled.body
    assert 'pretix carries on' in caplog.text and 'the plugin is broken' in caplog.text


def test_pretix_s_own_shredders_run_when_the_plugin_s_shredder_fails(confirmed, event, item, monkeypatch, caplog):
    order = checkout(event, item, confirmed.voucher.code)
    event.live = False
    event.save()
    monkeypatch.setattr(shredder, 'placeholder_email', broken)  # the grants' shredder fails half-way
    with caplog.at_level(logging.ERROR, logger='pretix_grants.signals'), committed():
        run_shredder(event, ['order_emails', 'pretix_grants'])

    with scopes_disabled():
        order.refresh_from_db()
        confirmed.refresh_from_db()
        failed = LogEntry.objects.get(event=event, action_type='pretix_grants.shredder.failed')
    assert order.email is None  # pretix's own shredder did its part
    assert confirmed.name == 'Ada Lovelace'  # the grants' part rolled back as a whole, to be run again
    assert str(failed.display()) == ('The data shredder could not remove the data of "Grants"; nothing of it was '
                                     'changed. Please run the data shredder for it again.')
    assert 'pretix carries on' in caplog.text and 'the plugin is broken' in caplog.text


def test_a_confirmation_issues_its_voucher_when_the_letters_fail(approved_grant, event, monkeypatch, caplog):
    monkeypatch.setattr(letters, 'on_grant_status_changed', broken)
    with caplog.at_level(logging.ERROR, logger='pretix_grants.signals'), committed(event.organizer):
        r = Client().post(f'/pyconf/2027/grant/{approved_grant.secret}/', {'answer': 'confirm'})
    assert r.status_code in (200, 302)
    with scopes_disabled():
        approved_grant.refresh_from_db()
    assert approved_grant.status == Grant.STATUS_CONFIRMED and approved_grant.voucher_state == Grant.VOUCHER_ISSUED
    [voucher_mail] = mails_to('ada@example.org')
    assert approved_grant.voucher.code in voucher_mail.body
    assert 'pretix carries on' in caplog.text and 'the plugin is broken' in caplog.text


def test_a_checkin_through_the_api_goes_through_when_the_plugin_fails(confirmed, event, item, api, monkeypatch):
    order = checkout(event, item, confirmed.voucher.code)
    with scopes_disabled():
        checkin_list = event.checkin_lists.create(name='Entrance', all_products=True)
        secret = order.positions.get().secret
    monkeypatch.setattr(lifecycle, 'on_checkin', broken)
    with committed():
        r = api.post(f'/api/v1/organizers/{event.organizer.slug}/checkinrpc/redeem/',
                     {'secret': secret, 'lists': [checkin_list.pk]}, format='json')

    assert r.status_code == 201, r.content
    assert r.data['status'] == 'ok'
    with scopes_disabled():
        assert checkin_list.checkins.count() == 1


def test_a_voucher_edit_through_the_api_goes_through_when_the_plugin_fails(confirmed, org_api, monkeypatch):
    monkeypatch.setattr(issuance, 'voucher_terms', broken)
    client, base = org_api
    with committed():
        r = client.patch(f'{base}vouchers/{confirmed.voucher_id}/', {'max_usages': 3}, format='json')
    assert r.status_code == 200, r.content

    monkeypatch.undo()
    monkeypatch.setattr(issuance, 'voucher_changed', broken)
    with committed():
        r = client.patch(f'{base}vouchers/{confirmed.voucher_id}/', {'max_usages': 5}, format='json')
    assert r.status_code == 200, r.content
    with scopes_disabled():
        assert Voucher.objects.get(pk=confirmed.voucher_id).max_usages == 5


def test_a_voucher_deleted_through_the_api_goes_when_the_plugin_fails(confirmed, org_api, monkeypatch):
    monkeypatch.setattr(issuance, 'voucher_deleted', broken)
    client, base = org_api
    with committed():
        r = client.delete(f'{base}vouchers/{confirmed.voucher_id}/')
    assert r.status_code == 204, r.content
    with scopes_disabled():
        assert not Voucher.objects.filter(pk=confirmed.voucher_id).exists()
        confirmed.refresh_from_db()
    assert confirmed.voucher_id is None


def test_a_voucher_deleted_outside_any_scope_is_let_go_by_its_grant(confirmed):
    """A shell, a task or another plugin deleting a grant voucher: no scope active, as pretix alone allows."""
    with scopes_disabled():
        voucher = Voucher.objects.get(pk=confirmed.voucher_id)
    voucher.delete()
    with scopes_disabled():
        confirmed.refresh_from_db()
    assert confirmed.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
    assert 'was deleted in pretix' in confirmed.voucher_attention


def test_voucher_signals_cost_no_query_in_an_event_without_the_plugin(organizer):
    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='Other', slug='other', currency='EUR', date_from=now())
        voucher = other.vouchers.create(code='OTHER1')
    with CaptureQueriesContext(connection) as queries:
        signals.voucher_terms_before(Voucher, voucher)
        signals.voucher_changed(Voucher, voucher)
        signals.voucher_deleted(Voucher, voucher)
    assert len(queries) == 0, [q['sql'] for q in queries]


def test_order_signals_of_the_letters_cost_no_query_in_an_event_without_the_plugin(organizer):
    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='Other', slug='other', currency='EUR', date_from=now())
        order = Order.objects.create(event=other, code='OTHR1', email='x@example.org', total=0,
                                     expires=now(), status=Order.STATUS_CANCELED,
                                     sales_channel=organizer.sales_channels.get(identifier='web'))
        other = Event.objects.get(pk=other.pk)  # as pretix's cancellation has it: plugins loaded, nothing else
    with CaptureQueriesContext(connection) as queries:
        letter_signals.letters_order_ended(other, order=order)
    assert len(queries) == 0, [q['sql'] for q in queries]
