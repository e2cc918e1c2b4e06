from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from pretix_grants import workflow
from pretix_grants.control.dashboard import dashboard_numbers
from pretix_grants.models import Grant

from ..conftest import committed
from .helpers import check_in, order_with_voucher


@pytest.fixture
def admin_client(client, event, user):
    with scopes_disabled():
        team = event.organizer.teams.create(name='Admins', all_events=True, all_event_permissions=True)
        team.members.add(user)
    client.force_login(user)
    return client


def widget(client, event):
    response = client.get(f'/control/event/{event.organizer.slug}/{event.slug}/widgets.json')
    assert response.status_code == 200
    [w] = [w for w in response.json()['widgets'] if w.get('lazy') == 'pretix-grants']
    return w['content']


@pytest.mark.django_db
def test_dashboard_lists_the_grants_widget_lazily(admin_client, event):
    response = admin_client.get(f'/control/event/{event.organizer.slug}/{event.slug}/')
    assert response.status_code == 200
    assert 'data-lazy-id="pretix-grants"' in response.content.decode()


@pytest.mark.django_db
def test_dashboard_widget_counts_statuses_vouchers_check_ins_and_budget(
        admin_client, event, item, make_grant, grant_settings):
    event.settings.grants_budget = Decimal('2000.00')
    make_grant(Grant.STATUS_PENDING)
    make_grant(Grant.STATUS_WAITING_LIST)
    make_grant(Grant.STATUS_APPROVED)
    with scopes_disabled():
        checkin_list = event.checkin_lists.create(name='Entrance', all_products=True)
    confirmed = []
    for i in range(3):
        g = make_grant(Grant.STATUS_APPROVED)
        with scope(organizer=event.organizer), committed():  # as the grantee's reply page runs it
            workflow.confirm(g)
        with scopes_disabled():
            g.refresh_from_db()
        confirmed.append(g)
    order = order_with_voucher(event, item, confirmed[0].voucher, cart_id='a')
    order_with_voucher(event, item, confirmed[1].voucher, cart_id='b')
    with freeze_time(event.date_from):
        check_in(order, checkin_list)

    with scope(organizer=event.organizer):  # as the dashboard's request asks
        numbers = dashboard_numbers(event)
    assert dict((k, n) for k, label, n in numbers['statuses'])['confirmed'] == 3
    assert (numbers['total'], numbers['vouchers_issued'], numbers['vouchers_redeemed'], numbers['checked_in']) == (
        6, 3, 2, 1)
    assert numbers['budget_used'] == Decimal('1200.00')  # four offers of 300.00

    html = widget(admin_client, event)
    assert 'Grants' in html
    assert 'Vouchers issued</td><td class="text-right">3' in html
    assert 'Vouchers redeemed</td><td class="text-right">2' in html
    assert 'Checked in</td><td class="text-right">1' in html
    assert '1,200.00' in html and '2,000.00' in html
    assert 'No-shows' not in html  # only after the event


@pytest.mark.django_db
def test_dashboard_widget_renders_for_an_event_without_grants(admin_client, event):
    html = widget(admin_client, event)
    assert 'Grants' in html and 'Budget used' in html
