from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from pretix.base.models import OutgoingMail

from pretix_grants.models import Grant, GrantMail

from .conftest import url


def names(response):
    return sorted(g.name for g in response.context['grants'])


@pytest.fixture
@scopes_disabled()
def grants(event, make_grant, grant_settings, item):
    ada = make_grant(Grant.STATUS_PENDING, name='Ada Lovelace', email='ada@example.org', decision='approved')
    bob = make_grant(Grant.STATUS_APPROVED, name='Bob Builder', email='bob@builders.example')
    cy = make_grant(Grant.STATUS_CONFIRMED, name='Cy Young', email='cy@example.org')
    v = event.vouchers.create(code='CYFREE', item=item, price_mode='set', value=Decimal('0.00'), redeemed=1)
    cy.voucher, cy.voucher_state = v, Grant.VOUCHER_ISSUED
    cy.save()
    dee = make_grant(Grant.STATUS_CONFIRMED, name='Dee Dee', email='dee@example.org',
                     voucher_state=Grant.VOUCHER_NEEDS_ATTENTION, voucher_attention='No quota')
    om = OutgoingMail.objects.create(organizer=event.organizer, event=event, to=['bob@builders.example'],
                                     subject='x', body_plain='x', status=OutgoingMail.STATUS_FAILED)
    GrantMail.objects.create(grant=bob, kind=GrantMail.KIND_DECISION, outgoing_mail=om)
    om2 = OutgoingMail.objects.create(organizer=event.organizer, event=event, to=['cy@example.org'],
                                      subject='x', body_plain='x', status=OutgoingMail.STATUS_SENT)
    GrantMail.objects.create(grant=cy, kind=GrantMail.KIND_VOUCHER, outgoing_mail=om2)
    return ada, bob, cy, dee


@pytest.mark.django_db
@pytest.mark.parametrize('query,expected', [
    ('', ['Ada Lovelace', 'Bob Builder', 'Cy Young', 'Dee Dee']),
    ('status=confirmed', ['Cy Young', 'Dee Dee']),
    ('status=approved', ['Bob Builder']),
    ('decision=approved', ['Ada Lovelace']),
    ('decision=none', ['Bob Builder', 'Cy Young', 'Dee Dee']),
    ('voucher=issued', ['Cy Young']),
    ('voucher=ordered', ['Cy Young']),
    ('voucher=needs_attention', ['Dee Dee']),
    ('voucher=not_issued', ['Ada Lovelace', 'Bob Builder']),
    ('mail=failed', ['Bob Builder']),
    ('mail=sent', ['Cy Young']),
    ('query=builders', ['Bob Builder']),
    ('query=LOVELACE', ['Ada Lovelace']),
    ('status=confirmed&query=dee', ['Dee Dee']),
])
def test_filters_and_search(manager_client, event, grants, query, expected):
    r = manager_client.get(url(event) + '?' + query)
    assert r.status_code == 200
    assert names(r) == expected


@pytest.mark.django_db
def test_sorting_counts_and_budget(manager_client, event, grants):
    event.settings.grants_budget = Decimal('500.00')
    r = manager_client.get(url(event) + '?ordering=-name')
    assert [g.name for g in r.context['grants']] == ['Dee Dee', 'Cy Young', 'Bob Builder', 'Ada Lovelace']
    counts = {k: c for k, label, c in r.context['status_counts']}
    assert counts['confirmed'] == 2 and counts['pending'] == 1 and counts['approved'] == 1
    # approved and confirmed grants: three times 300
    assert r.context['granted_sum'] == Decimal('900.00')
    assert r.context['over_budget']
    assert 'over budget' in r.content.decode()
    # an unknown ordering is ignored, not a 500
    assert manager_client.get(url(event) + '?ordering=secret').status_code == 200


@pytest.mark.django_db
def test_pagination(manager_client, event, make_grant):
    for _ in range(60):
        make_grant()
    r = manager_client.get(url(event))
    assert len(r.context['grants']) == 50
    r = manager_client.get(url(event) + '?page=2')
    assert len(r.context['grants']) == 10


def count_queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_grants(manager_client, event, item, make_grant):
    @scopes_disabled()
    def add(n):
        for i in range(n):
            g = make_grant(Grant.STATUS_CONFIRMED if i % 2 else Grant.STATUS_PENDING)
            if i % 2:
                g.voucher = event.vouchers.create(item=item, price_mode='set', value=Decimal('0.00'))
                g.voucher_state = Grant.VOUCHER_ISSUED
                g.save()
            GrantMail.objects.create(grant=g, kind=GrantMail.KIND_RECEIVED, outgoing_mail=OutgoingMail.objects.create(
                organizer=event.organizer, event=event, to=[g.email], subject='x', body_plain='x'))

    path = url(event) + '?page_size=250'
    add(10)
    manager_client.get(path)  # warm up session and caches
    few = count_queries(manager_client, path)
    add(290)
    many = count_queries(manager_client, path)
    assert few == many
