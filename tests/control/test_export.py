import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django_scopes import scope, scopes_disabled
from pretix.base.models import Order, OrderPosition, OutgoingMail

from pretix_grants.control.exporters import GrantExporter
from pretix_grants.models import Grant, GrantMail


def render(event, fmt, holder=None):
    """The grants' export as pretix's export task renders it: in the organizer's scope."""
    with scope(organizer=event.organizer):
        return GrantExporter(event=event, organizer=event.organizer, permission_holder=holder).render({'_format': fmt})


@pytest.fixture
@scopes_disabled()
def grants(event, make_grant, item):
    a = make_grant(Grant.STATUS_PENDING, name='Ada', email='ada@example.org', decision='approved')
    b = make_grant(Grant.STATUS_CONFIRMED, name='Bob', email='bob@example.org', accommodation_amount=Decimal('120'))
    b.voucher = event.vouchers.create(code='BOBFREE', item=item, price_mode='set', value=Decimal('0'), redeemed=1)
    b.voucher_state = Grant.VOUCHER_ISSUED
    b.save()
    order = Order.objects.create(event=event, code='ABC12', email=b.email, total=Decimal('0'), status=Order.STATUS_PAID,
                                 sales_channel=event.organizer.sales_channels.get(identifier='web'),
                                 datetime=b.created, expires=b.created)
    OrderPosition.objects.create(order=order, item=item, price=Decimal('0'), voucher=b.voucher, positionid=1)
    om = OutgoingMail.objects.create(organizer=event.organizer, event=event, to=[b.email], subject='x',
                                     body_plain='x', status=OutgoingMail.STATUS_FAILED)
    GrantMail.objects.create(grant=b, kind=GrantMail.KIND_VOUCHER, outgoing_mail=om)
    c = make_grant(Grant.STATUS_REJECTED, name='Cy', email='cy@example.org')
    return a, b, c


@pytest.mark.django_db
def test_csv_export_has_every_grant_with_the_right_columns(event, grants):
    name, ctype, data = render(event, 'default')
    assert name.endswith('.csv') and '2027_grants' in name
    rows = list(csv.reader(io.StringIO(data.decode('utf-8-sig'))))
    assert rows[0] == ['Name', 'Email', 'Language', 'Type', 'Status', 'Staged decision', 'Reply deadline', 'Free ticket',
                       'Travel', 'Accommodation', 'Other', 'Total', 'Voucher code', 'Voucher state', 'Order code',
                       'Mail state', 'Applied', 'Requested: ticket', 'Requested: travel',
                       'Requested: accommodation', 'Requested: other', 'Requested: total',
                       'Justification of the amounts', 'Why they want to attend', 'Reviews', 'Mean score',
                       'Standard deviation']
    by_name = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert set(by_name) == {'Ada', 'Bob', 'Cy'}
    assert by_name['Ada']['Staged decision'] == 'approve' and by_name['Ada']['Status'] == 'pending'
    bob = by_name['Bob']
    assert (bob['Voucher code'], bob['Voucher state'], bob['Order code'], bob['Mail state']) == (
        'BOBFREE', 'issued', 'ABC12', 'failed')
    assert Decimal(bob['Total']) == Decimal('420.00')
    assert by_name['Cy']['Status'] == 'rejected' and by_name['Cy']['Type'] == 'Application'


@pytest.mark.django_db
def test_excel_export(event, grants):
    name, ctype, data = render(event, 'xlsx')
    assert name.endswith('.xlsx')
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == 'Name' and len(values) == 4
    assert {r[0] for r in values[1:]} == {'Ada', 'Bob', 'Cy'}


@pytest.mark.django_db
def test_exporter_listed_in_pretix_export_page(client, event, user, grants):
    with scopes_disabled():
        team = event.organizer.teams.create(name='Admins', all_events=True, all_event_permissions=True)
        team.members.add(user)
    client.force_login(user)
    r = client.get(f'/control/event/{event.organizer.slug}/{event.slug}/orders/export/')
    assert r.status_code == 200
    assert 'pretix_grants' in r.content.decode()


@pytest.mark.django_db
def test_export_has_requests_answers_and_review_figures(event, make_grant, team_member):
    from pretix_grants import reviews
    from pretix_grants.permissions import REVIEW, VIEW

    event.settings.grants_application_questions = [
        {'id': 'first', 'type': 'boolean', 'question': 'First conference?', 'required': True}]
    g = make_grant(name='Eve', email='eve@example.org', requested_travel=Decimal('150.00'),
                   justification='Bus', motivation='Learning', answers={'first': True})
    a, b = (team_member({VIEW: True, REVIEW: True}, f'r{n}@example.org') for n in range(2))
    with scope(organizer=event.organizer):  # the review page
        reviews.score(g, a, 2)
        reviews.score(g, b, 4)

    def export(holder):
        name, ctype, data = render(event, 'default', holder)
        rows = list(csv.reader(io.StringIO(data.decode('utf-8-sig'))))
        return dict(zip(rows[0], rows[1]))

    eve = export(None)
    assert (eve['Requested: travel'], eve['Requested: total'], eve['Justification of the amounts']) == (
        '150.00', '150.00', 'Bus')
    assert (eve['Reviews'], eve['Mean score'], eve['Standard deviation']) == ('2', '3.0', '1.0')
    assert eve['First conference?'] == 'Yes'
    outsider = team_member({VIEW: True, REVIEW: True}, 'r3@example.org')
    blind = export(outsider)
    assert (blind['Reviews'], blind['Mean score'], blind['Standard deviation']) == ('2', '', '')
