"""
A grantee who already bought a ticket: found by the order's and the attendee's email, and on confirmation the
ticket is refunded through pretix's refunds, kept, or the grantee is asked. Orders are created through pretix's REST
order creation and paid through pretix's bank import, a gift card and a card provider; pretix's refund objects are
asserted.
"""
import json
from decimal import Decimal

import pytest
from django.test import Client
from django_scopes import scope, scopes_disabled
from pretix.base.models import Order, OrderRefund, Voucher
from pretix.plugins.banktransfer.models import RefundExport

from pretix_grants import issuance
from pretix_grants.models import Grant, OwnTicket

from ..conftest import committed, mails_to
from ..control.conftest import url

ZERO = Decimal('0.00')


def reply(grant):
    return f'/{grant.event.organizer.slug}/{grant.event.slug}/grant/{grant.secret}/'


def confirm(client, grant):
    # the grantee, never signed in: a team member signed in on the same browser sees the page read only
    with committed():
        r = Client().post(reply(grant), {'answer': 'confirm'})
    assert r.status_code == 302
    with scopes_disabled():
        grant.refresh_from_db()
        return OwnTicket.objects.filter(grant=grant).select_related('order', 'refund').first()


def grant_mails():
    """The plugin's mails to Ada (pretix mails her about her order as well)."""
    return [m for m in mails_to('ada@example.org') if 'Your grant' in m.subject]


def refunds(order):
    with scopes_disabled():
        return list(OrderRefund.objects.filter(order=order))


def reload(order):
    with scopes_disabled():
        order.refresh_from_db()
        return order, list(order.positions.all())


@pytest.fixture
def refund_setting(shop_event):
    shop_event.settings.grants_own_ticket = 'refund'
    return shop_event


def test_bank_transfer_ticket_refunded_in_pretix_created_state_for_the_refund_export(
        client, admin_client, buyer, approved_grant, item, refund_setting):
    order = buyer.pay_by_bank(buyer.order(item, 'ada@example.org'))
    assert order.status == Order.STATUS_PAID and order.total == Decimal('200.00')

    own = confirm(client, approved_grant)

    assert approved_grant.status == Grant.STATUS_CONFIRMED
    assert approved_grant.voucher_state == Grant.VOUCHER_OWN_TICKET
    with scopes_disabled():
        assert not Voucher.objects.filter(event=refund_setting).exists()
    assert own.state == OwnTicket.STATE_REFUNDED
    [refund] = refunds(order)
    assert (refund.provider, refund.amount, refund.state) == ('banktransfer', Decimal('200.00'),
                                                              OrderRefund.REFUND_STATE_CREATED)
    assert refund.info_data['iban'] == 'DE02120300000000202051'  # what pretix's bank transfer refund export sends
    order, [pos] = reload(order)
    assert order.status == Order.STATUS_PAID and not pos.canceled  # exactly one valid ticket, theirs
    assert pos.price == ZERO and order.total == ZERO
    assert order.pending_sum == ZERO  # the created refund balances the order in pretix's eyes
    [m] = grant_mails()
    assert 'refunded' in m.subject and '200.00' in m.body and order.code in m.body
    with scopes_disabled():
        assert order.all_logentries().filter(action_type='pretix_grants.order.own_ticket.refunded').count() == 1
        assert order.all_logentries().filter(action_type='pretix.event.order.refund.created').count() == 1
        assert approved_grant.all_logentries().filter(action_type='pretix_grants.grant.own_ticket.refunded').exists()

    # the organizer executes it as pretix does: its bank transfer refund export sends the money and marks it done
    r = admin_client.post(f'/control/event/{refund_setting.organizer.slug}/{refund_setting.slug}/banktransfer/refunds/')
    assert r.status_code == 302
    with scopes_disabled():
        [export] = RefundExport.objects.filter(event=refund_setting)
        [row] = json.loads(export.rows)
        refund.refresh_from_db()
    assert (row['iban'], Decimal(row['amount'])) == ('DE02120300000000202051', Decimal('200.00'))
    assert refund.state == OrderRefund.REFUND_STATE_DONE


def test_gift_card_ticket_refunded_automatically_to_the_gift_card(client, buyer, approved_grant, item, refund_setting,
                                                                  gift_card):
    order = buyer.order(item, 'ada@example.org', gift_card=gift_card.secret)
    assert order.status == Order.STATUS_PAID
    with scopes_disabled():
        assert gift_card.value == Decimal('300.00')

    own = confirm(client, approved_grant)

    [refund] = refunds(order)
    assert (refund.provider, refund.amount, refund.state) == ('giftcard', Decimal('200.00'),
                                                              OrderRefund.REFUND_STATE_DONE)
    assert own.state == OwnTicket.STATE_REFUNDED
    with scopes_disabled():
        assert gift_card.value == Decimal('500.00')
        assert not Voucher.objects.filter(event=refund_setting).exists()
    order, [pos] = reload(order)
    assert order.status == Order.STATUS_PAID and not pos.canceled


def test_discounted_ticket_refunds_what_was_paid_never_more(client, buyer, approved_grant, item, refund_setting):
    with scopes_disabled():
        refund_setting.vouchers.create(code='HALF', price_mode='percent', value=Decimal('50.00'), item=item)
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', voucher='HALF', provider='grantcard'))
    assert order.total == Decimal('100.00') and order.status == Order.STATUS_PAID

    confirm(client, approved_grant)

    [refund] = refunds(order)
    assert (refund.provider, refund.amount, refund.state) == ('grantcard', Decimal('100.00'),
                                                              OrderRefund.REFUND_STATE_DONE)
    order, [pos] = reload(order)
    assert order.status == Order.STATUS_PAID and order.total == ZERO and order.pending_sum == ZERO


def test_only_the_grantees_ticket_of_a_larger_order_is_refunded(client, buyer, approved_grant, item, refund_setting):
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard', count=2))
    assert order.total == Decimal('400.00')

    confirm(client, approved_grant)

    [refund] = refunds(order)
    assert refund.amount == Decimal('200.00')
    order, positions = reload(order)
    assert sorted(p.price for p in positions) == [ZERO, Decimal('200.00')]
    assert order.status == Order.STATUS_PAID and order.pending_sum == ZERO


def test_pending_order_is_made_free_through_pretix_order_change_not_left_to_expire(
        client, buyer, approved_grant, item, refund_setting):
    order = buyer.order(item, 'ada@example.org')
    assert order.status == Order.STATUS_PENDING

    own = confirm(client, approved_grant)

    assert own.state == OwnTicket.STATE_FREE
    assert refunds(order) == []
    order, [pos] = reload(order)
    assert order.status == Order.STATUS_PAID and order.total == ZERO and not pos.canceled
    with scopes_disabled():
        assert order.payments.filter(provider='free', state='confirmed').count() == 1
        assert order.all_logentries().filter(action_type='pretix.event.order.changed.price').exists()
    [m] = grant_mails()
    assert 'free' in m.subject


def test_attendee_email_finds_the_ticket_someone_else_ordered(client, buyer, approved_grant, item, refund_setting):
    order = buyer.pay_by_card(buyer.order(item, 'boss@example.org', attendee_email='ADA@example.org',
                                          provider='grantcard'))

    own = confirm(client, approved_grant)

    assert own.order == order and own.state == OwnTicket.STATE_REFUNDED
    assert refunds(order)[0].amount == Decimal('200.00')


def test_without_an_order_the_grant_voucher_is_issued_as_before(client, buyer, approved_grant, item, refund_setting):
    buyer.order(item, 'someone@example.org')  # another person's ticket

    own = confirm(client, approved_grant)

    assert own is None
    assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED and approved_grant.voucher_id


def test_a_failing_refund_is_shown_retried_once_and_never_doubled(client, admin_client, buyer, approved_grant, item,
                                                                  refund_setting):
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))
    refund_setting.settings.grantcard_declines = True

    own = confirm(client, approved_grant)

    assert own.state == OwnTicket.STATE_FAILED and 'declined' in own.error
    [refund] = refunds(order)
    assert refund.state == OrderRefund.REFUND_STATE_FAILED
    assert grant_mails() == []
    page = admin_client.get(url(refund_setting, f'{approved_grant.pk}/')).content.decode()
    assert 'The card acquirer declined the refund.' in page and 'Try the refund again' in page

    retry_url = url(refund_setting, f'{approved_grant.pk}/ticket/retry/')
    r = admin_client.post(retry_url, follow=True)  # still declined
    assert 'The refund failed again' in r.content.decode()
    refund_setting.settings.grantcard_declines = False
    admin_client.post(retry_url)
    admin_client.post(retry_url)  # a second click changes nothing

    [refund] = refunds(order)
    assert (refund.state, refund.amount) == (OrderRefund.REFUND_STATE_DONE, Decimal('200.00'))
    with scopes_disabled():
        own.refresh_from_db()
        assert own.state == OwnTicket.STATE_REFUNDED and own.attempts == 3
    assert len(grant_mails()) == 1
    order, [pos] = reload(order)
    assert order.pending_sum == ZERO and order.status == Order.STATUS_PAID


def test_keep_the_order_no_voucher_no_refund(client, buyer, approved_grant, item, shop_event):
    shop_event.settings.grants_own_ticket = 'keep'
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))

    own = confirm(client, approved_grant)

    assert own.state == OwnTicket.STATE_KEPT
    assert approved_grant.voucher_state == Grant.VOUCHER_OWN_TICKET and approved_grant.voucher_id is None
    assert refunds(order) == []
    order, [pos] = reload(order)
    assert order.total == Decimal('200.00') and pos.price == Decimal('200.00')
    [m] = grant_mails()
    assert order.code in m.body
    page = client.get(reply(approved_grant)).content.decode()
    assert f'Your order {order.code} is your ticket for the event.' in page
    assert 'is on its way' not in page and 'http-equiv="refresh"' not in page  # no voucher is coming


def test_ask_the_grantee_who_chooses_a_refund_on_the_reply_page(client, buyer, approved_grant, item, shop_event):
    shop_event.settings.grants_own_ticket = 'ask'
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))

    page = client.get(reply(approved_grant)).content.decode()
    assert f'You have already ordered a ticket (order {order.code})' in page
    assert 'Accept the grant and refund my ticket' in page
    with committed():
        r = client.post(reply(approved_grant) + 'ticket/', {'choice': 'refund'})
    assert r.status_code == 302

    with scopes_disabled():
        approved_grant.refresh_from_db()
        own = OwnTicket.objects.get(grant=approved_grant)
    assert approved_grant.status == Grant.STATUS_CONFIRMED
    assert (own.choice, own.state) == ('refund', OwnTicket.STATE_REFUNDED)
    [refund] = refunds(order)
    assert refund.state == OrderRefund.REFUND_STATE_DONE and refund.amount == Decimal('200.00')
    with scopes_disabled():
        assert not Voucher.objects.filter(event=shop_event).exists()


def test_ask_confirmed_without_a_choice_waits_and_keeps_on_choice(client, buyer, approved_grant, item, shop_event):
    shop_event.settings.grants_own_ticket = 'ask'
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))

    own = confirm(client, approved_grant)
    assert own.state == OwnTicket.STATE_ASKED and approved_grant.voucher_state == Grant.VOUCHER_OWN_TICKET
    assert 'Keep my order' in client.get(reply(approved_grant)).content.decode()

    with committed():
        client.post(reply(approved_grant) + 'ticket/', {'choice': 'keep'})
    with scopes_disabled():
        own.refresh_from_db()
    assert own.state == OwnTicket.STATE_KEPT and refunds(order) == []
    r = client.post(reply(approved_grant) + 'ticket/', {'choice': 'refund'}, follow=True)
    assert 'Your choice has already been made.' in r.content.decode()
    assert refunds(order) == []


def test_grant_page_list_filter_and_api_show_the_persons_order(admin_client, api, buyer, approved_grant, make_grant,
                                                               item, refund_setting):
    order = buyer.order(item, 'ada@example.org')
    other = make_grant(Grant.STATUS_APPROVED, name='Grace Hopper', email='grace@example.org')

    page = admin_client.get(url(refund_setting, f'{approved_grant.pk}/')).content.decode()
    assert order.code in page and 'Refund their ticket' not in page and 'refund the ticket' in page
    listed = admin_client.get(url(refund_setting, '?voucher=holds_ticket')).content.decode()
    assert 'Ada Lovelace' in listed and 'Grace Hopper' not in listed

    base = f'/api/v1/organizers/{refund_setting.organizer.slug}/events/{refund_setting.slug}/'
    r = api.get(base + 'grants/?holds_ticket=true')
    assert [g['id'] for g in r.data['results']] == [approved_grant.pk]
    r = api.get(base + 'grants/?holds_ticket=false')
    assert [g['id'] for g in r.data['results']] == [other.pk]
    r = api.get(base + f'grant_tickets/{approved_grant.pk}/')
    assert r.status_code == 200
    assert r.data['orders'] == [{'code': order.code, 'status': 'n', 'position': 1, 'price': '200.00'}]
    assert r.data['handling'] == 'refund' and r.data['own_ticket'] is None


def test_api_shows_the_refund_and_retries_a_failed_one(client, api, buyer, approved_grant, item, refund_setting):
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))
    refund_setting.settings.grantcard_declines = True
    confirm(client, approved_grant)
    base = f'/api/v1/organizers/{refund_setting.organizer.slug}/events/{refund_setting.slug}/grant_tickets/'

    r = api.get(base + f'{approved_grant.pk}/')
    assert r.data['own_ticket']['state'] == 'failed'
    assert r.data['own_ticket']['refund']['state'] == 'failed'
    refund_setting.settings.grantcard_declines = False
    r = api.post(base + f'{approved_grant.pk}/retry/')
    assert r.status_code == 200, r.data
    assert r.data['own_ticket']['refund'] == {'id': 1, 'state': 'done', 'amount': '200.00', 'provider': 'grantcard'}
    r = api.post(base + f'{approved_grant.pk}/retry/')
    assert r.status_code == 400
    assert len(refunds(order)) == 1


def test_a_transfer_without_a_known_account_gets_a_created_refund_for_the_organizer(
        client, admin_client, buyer, approved_grant, item, refund_setting):
    order = buyer.order(item, 'ada@example.org')
    with scopes_disabled():
        order.payments.get().confirm()  # marked as paid by hand in pretix: no account to send money back to
        order.refresh_from_db()
    assert order.status == Order.STATUS_PAID

    own = confirm(client, approved_grant)

    [refund] = refunds(order)
    assert (refund.provider, refund.amount, refund.state) == ('manual', Decimal('200.00'),
                                                              OrderRefund.REFUND_STATE_CREATED)
    assert own.state == OwnTicket.STATE_REFUNDED
    page = admin_client.get(url(refund_setting, f'{approved_grant.pk}/')).content.decode()
    assert 'to be transferred and marked as done on the order' in page


def test_issuing_again_never_refunds_twice_nor_gives_a_voucher(client, buyer, approved_grant, item, refund_setting):
    order = buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))
    confirm(client, approved_grant)

    with scope(organizer=refund_setting.organizer), committed():
        issuance.issue_voucher(approved_grant.pk, event=refund_setting)  # a task delivered twice, the sweep
        issuance.issue_vouchers(refund_setting, [approved_grant.pk])  # the organizer's bulk "issue vouchers"

    with scopes_disabled():
        approved_grant.refresh_from_db()
        assert not Voucher.objects.filter(event=refund_setting).exists()
    assert approved_grant.voucher_state == Grant.VOUCHER_OWN_TICKET
    assert len(refunds(order)) == 1 and len(grant_mails()) == 1


def test_only_managers_retry_a_refund(client, viewer, buyer, approved_grant, item, refund_setting):
    buyer.pay_by_card(buyer.order(item, 'ada@example.org', provider='grantcard'))
    refund_setting.settings.grantcard_declines = True
    confirm(client, approved_grant)
    client.force_login(viewer)

    page = client.get(url(refund_setting, f'{approved_grant.pk}/')).content.decode()
    assert 'The card acquirer declined the refund.' in page and 'Try the refund again' not in page
    assert client.post(url(refund_setting, f'{approved_grant.pk}/ticket/retry/')).status_code == 403
