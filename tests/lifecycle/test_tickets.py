from datetime import timedelta

import pytest
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time
from pretix.base.models import LogEntry, Order, Voucher

from pretix_grants import lifecycle, workflow
from pretix_grants.control.dashboard import dashboard_numbers
from pretix_grants.models import Grant

from ..conftest import committed
from ..control.conftest import url
from .helpers import cancel, check_in, order_with_voucher


@scopes_disabled()
def refreshed(grant):
    grant.refresh_from_db()
    return grant


@pytest.fixture
def confirmed(approved_grant):
    with scope(organizer=approved_grant.event.organizer), committed():  # as the grantee's reply page runs it
        workflow.confirm(approved_grant)
    refreshed(approved_grant)
    assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED
    return approved_grant


@pytest.fixture
@scopes_disabled()
def checkin_list(event):
    return event.checkin_lists.create(name='Entrance', all_products=True)


@pytest.mark.django_db
def test_an_order_with_the_grant_voucher_shows_on_the_grant(confirmed, event, item, manager_client):
    order = order_with_voucher(event, item, confirmed.voucher, email='ada@example.org')

    refreshed(confirmed)
    assert order.status == Order.STATUS_PAID and order.total == 0
    assert (confirmed.order_code, confirmed.order_status) == (order.code, Order.STATUS_PAID)
    assert confirmed.ticket_state() == Grant.TICKET_PAID
    assert confirmed.get_ticket_state_display() == f'ticket ordered ({order.code})'
    page = manager_client.get(url(event, f'{confirmed.pk}/')).content.decode()
    assert f'Ticket ordered ({order.code})' in page
    with scopes_disabled():
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.ticket.paid',
                                       object_id=confirmed.pk).count() == 1


@scopes_disabled()
def redeemed(voucher_id):
    return Voucher.objects.get(pk=voucher_id).redeemed


@pytest.mark.django_db
def test_canceling_the_order_frees_the_voucher_and_the_grant_says_so(confirmed, event, item):
    order = order_with_voucher(event, item, confirmed.voucher)
    assert redeemed(confirmed.voucher_id) == 1

    cancel(order)

    refreshed(confirmed)
    assert confirmed.order_status == Order.STATUS_CANCELED
    assert redeemed(confirmed.voucher_id) == 0
    assert confirmed.get_ticket_state_display() == f'order {order.code} canceled, the voucher can be used again'

    again = order_with_voucher(event, item, confirmed.voucher, cart_id='second-cart')
    refreshed(confirmed)
    assert (confirmed.order_code, confirmed.order_status) == (again.code, Order.STATUS_PAID)


@pytest.mark.django_db
def test_a_check_in_marks_attendance(confirmed, event, item, checkin_list):
    order = order_with_voucher(event, item, confirmed.voucher)
    with freeze_time(event.date_from + timedelta(hours=1)):
        check_in(order, checkin_list)

    refreshed(confirmed)
    assert confirmed.checked_in_at == event.date_from + timedelta(hours=1)
    assert confirmed.ticket_state() == Grant.TICKET_CHECKED_IN
    with scopes_disabled():
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.ticket.checked_in').count() == 1


@pytest.mark.django_db
def test_orders_without_a_grant_voucher_leave_grants_alone(confirmed, event, item):
    with scopes_disabled():
        other = Voucher.objects.create(event=event, code='NOTAGRANT', item=item, price_mode='set', value=0)
    order_with_voucher(event, item, other)
    refreshed(confirmed)
    assert confirmed.order_code == ''
    assert confirmed.ticket_state() == Grant.TICKET_NONE


@pytest.mark.django_db
def test_after_the_event_the_no_shows_are_the_confirmed_grants_with_a_ticket_and_no_check_in(
        make_grant, grant_settings, event, item, checkin_list):
    def confirmed_grant(email):
        g = make_grant(Grant.STATUS_APPROVED, email=email)
        with scope(organizer=event.organizer), committed():
            workflow.confirm(g)
        return refreshed(g)

    came = confirmed_grant('came@example.org')
    stayed_home = confirmed_grant('stayed@example.org')
    never_ordered = confirmed_grant('never@example.org')
    canceled = confirmed_grant('canceled@example.org')
    make_grant(Grant.STATUS_REFUSED, email='refused@example.org')
    came_order = order_with_voucher(event, item, came.voucher, cart_id='c1')
    order_with_voucher(event, item, stayed_home.voucher, cart_id='c2')
    cancel(order_with_voucher(event, item, canceled.voucher, cart_id='c3'))
    with freeze_time(event.date_from + timedelta(minutes=5)):
        check_in(came_order, checkin_list)

    with scope(organizer=event.organizer):  # as the control panel's pages ask
        assert list(lifecycle.no_shows(event)) == []  # the event has not ended yet
        after = event.date_to + timedelta(seconds=1)
        with freeze_time(after):
            assert list(lifecycle.no_shows(event)) == [stayed_home]
            assert list(Grant.objects.filter(pk__in=[came.pk, stayed_home.pk, never_ordered.pk]).no_shows(
                event, lifecycle.event_ended(event))) == [Grant.objects.get(pk=stayed_home.pk)]
            assert dashboard_numbers(event)['no_shows'] == 1


@pytest.mark.django_db
def test_a_voucher_redeemed_before_the_grant_got_it_is_picked_up(confirmed, event, item):
    order = order_with_voucher(event, item, confirmed.voucher)
    with scopes_disabled():  # as if the signal was missed
        Grant.objects.filter(pk=confirmed.pk).update(order_code='', order_status='')

    assert lifecycle.sync_unseen_tickets() == 1  # with no scope, as pretix's periodic task runs it
    refreshed(confirmed)
    assert confirmed.order_code == order.code
