"""
Tickets held for applicants: a voucher that blocks one place of the grant product's quota from the application (or
the offer), counted by pretix's own quota availability, released when the application ends without a ticket, and
never more than the quota has.
"""
from contextlib import ExitStack
from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled
from pretix.base.models import Voucher
from pretix.base.services.quotas import QuotaAvailability

from pretix_grants import workflow
from pretix_grants.models import Grant, TicketHold

from ..checkout import Shop
from ..conftest import committed

ZERO = Decimal('0.00')


def left(quota):
    """The quota's availability as pretix's quota page computes it."""
    with scopes_disabled():
        qa = QuotaAvailability(count_waitinglist=False)
        qa.queue(quota)
        qa.compute()
        return qa.results[quota][1]


def apply(event, n):
    with scope(organizer=event.organizer):  # what pretix's middleware gives the application form
        return workflow.create_grant(event, name=f'Applicant {n}', email=f'applicant{n}@example.org', notify=False)


def acting(event):
    """An organizer's or grantee's action in a request: the organizer's scope, the callbacks after commit."""
    stack = ExitStack()
    stack.enter_context(scope(organizer=event.organizer))
    stack.enter_context(committed())
    return stack


def holds(grant):
    with scopes_disabled():
        return TicketHold.objects.filter(grant=grant).select_related('voucher').first()


@pytest.fixture
def small_quota(quota, grant_settings, event):
    with scopes_disabled():
        quota.size = 3
        quota.save()
    event.settings.grants_hold_tickets = 'pending'
    return quota


def test_each_application_holds_a_place_pretix_counts_and_a_full_quota_refuses_with_the_message(
        client, event, small_quota):
    grants = [apply(event, n) for n in range(3)]

    assert [holds(g).state for g in grants] == ['held'] * 3
    assert left(small_quota) == 0
    with scopes_disabled():
        vouchers = [holds(g).voucher for g in grants]
        assert all(v.block_quota and v.max_usages == 1 for v in vouchers)

    late = apply(event, 4)  # the application itself is taken
    assert late.status == Grant.STATUS_PENDING
    assert holds(late).state == TicketHold.STATE_FULL and holds(late).voucher is None
    page = client.get(f'/{event.organizer.slug}/{event.slug}/grant/{late.secret}/').content.decode()
    assert 'No ticket could be held for you' in page
    page = client.get(f'/{event.organizer.slug}/{event.slug}/grant/{grants[0].secret}/').content.decode()
    assert 'A ticket is held for you' in page


def test_ending_applications_frees_their_places(event, small_quota):
    grants = [apply(event, n) for n in range(3)]

    with acting(event):
        workflow.change_status(grants[0], Grant.STATUS_REJECTED, actor=workflow.ORGANIZER)
        workflow.change_status(grants[1], Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)
    with acting(event):
        workflow.refuse(grants[1], actor=workflow.GRANTEE)

    assert left(small_quota) == 2
    assert holds(grants[0]).state == holds(grants[1]).state == TicketHold.STATE_RELEASED
    with scopes_disabled():
        ended = Voucher.objects.get(pk=holds(grants[0]).voucher_id)
        grants[0].refresh_from_db()
    assert grants[0].voucher_id is None and ended.max_usages == ended.redeemed
    assert apply(event, 5) and left(small_quota) == 1  # the freed place can be held again


def test_the_held_place_becomes_the_grantees_free_ticket(event, item, small_quota):
    grant = apply(event, 1)
    others = [apply(event, n) for n in (2, 3)]
    assert left(small_quota) == 0

    with acting(event):
        workflow.change_status(grant, Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)
    with acting(event):
        workflow.confirm(grant)

    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.voucher_state == Grant.VOUCHER_UPGRADED and grant.voucher_id == holds(grant).voucher_id
        code = grant.voucher.code
    assert left(small_quota) == 0 and len(others) == 2
    total, r = Shop(event).order(code, item, simulate=False)
    assert total == ZERO, r.data


def test_holding_from_the_offer_only(event, small_quota):
    event.settings.grants_hold_tickets = 'approved'
    grant = apply(event, 1)
    assert holds(grant) is None and left(small_quota) == 3

    with acting(event):
        workflow.change_status(grant, Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)

    assert holds(grant).state == TicketHold.STATE_HELD and left(small_quota) == 2
