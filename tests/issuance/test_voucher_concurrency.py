"""
The grant's voucher under real concurrency (PostgreSQL row locks and pretix's own locks): a checkout with the grant
voucher racing the grant's end, and an organizer's edit racing the issuance task.
"""
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.db import connection
from django.test import Client
from django_scopes import scope, scopes_disabled
from pretix.base.models import OrderPosition, Voucher

from pretix_grants import issuance, workflow
from pretix_grants.models import Grant

from ..checkout import Shop
from ..control.conftest import url
from ..racing import run_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != 'postgresql',
        reason='needs PostgreSQL (row locks); run `make test-postgres` or .ci/run',
    ),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize('end', ['refuse', 'cancel'])
def test_a_checkout_racing_the_grants_end_neither_deadlocks_nor_fails(end, make_grant, grant_settings, event, item):
    shop = Shop(event)
    for i in range(6):
        g = make_grant(Grant.STATUS_APPROVED, email=f'race{i}@example.org')
        with scope(organizer=event.organizer):  # as the grantee's reply page runs it
            workflow.confirm(g)
        with scopes_disabled():
            g.refresh_from_db()
            code = g.voucher.code
        answers = []

        def checkout():
            total, r = shop.order(code, item, simulate=False)
            answers.append(r.status_code)

        def ending():
            with scope(organizer=event.organizer):  # as the reply page or the control panel runs it
                grant = Grant.objects.get(pk=g.pk)
                workflow.refuse(grant) if end == 'refuse' else workflow.cancel(grant)

        errors = run_at_once(checkout, ending)

        assert errors == [], errors  # no deadlock, no exception (a 500)
        assert answers and answers[0] in (201, 400), answers
        with scopes_disabled():
            g.refresh_from_db()
            assert g.status in (Grant.STATUS_REFUSED, Grant.STATUS_CANCELLED)
            held = OrderPosition.objects.filter(voucher__code=code, order__event=event)
            if answers[0] == 201:
                # the checkout came first: the free ticket was bought, the grant says so and keeps the voucher
                assert held.count() == 1 and held.get().price == Decimal('0.00')
                assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
            else:
                # the end came first: the voucher is ended and nothing was bought
                assert not held.exists()
                assert g.voucher_state == Grant.VOUCHER_NOT_ISSUED
        if answers[0] != 201:
            assert shop.free_tickets(code, item) == 0


@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_the_issuance_gives_one_voucher_and_one_mail(make_grant, grant_settings, event, manager):
    def issue(pk):
        with scope(organizer=event.organizer):  # as pretix's task for the event runs it
            issuance.issue_voucher(pk)

    for i in range(5):
        g = make_grant(Grant.STATUS_CONFIRMED, email=f'edit{i}@example.org')
        djmail.outbox = []
        client = Client()
        client.force_login(manager)
        answers = []

        def edit():
            answers.append(client.post(url(event, f'{g.pk}/edit/'), {
                'name': f'Edited {i}', 'email': g.email, 'locale': 'en', 'ticket': 'on', 'travel_amount': '300.00',
                'accommodation_amount': '0.00', 'other_amount': '0.00', 'internal_note': 'edited',
            }).status_code)

        errors = run_at_once(edit, lambda: issue(g.pk))

        assert errors == [] and answers == [302]
        with scopes_disabled():
            g.refresh_from_db()
        assert (g.name, g.internal_note) == (f'Edited {i}', 'edited')
        assert g.status == Grant.STATUS_CONFIRMED and g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher_id
        # the sweep finds nothing to do: no second voucher, no second mail
        issue(g.pk)
        with scopes_disabled():
            assert Voucher.objects.filter(event=event, comment__contains=g.email).count() == 1
        assert [m.to for m in djmail.outbox] == [[g.email]]
