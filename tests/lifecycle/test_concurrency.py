"""
Waiting-list promotion under real concurrency (PostgreSQL, one connection per thread): refusals that arrive at
the same moment each give their place to a different waiting grant, and no place is given twice.
"""
import pytest
from django.core import mail as djmail
from django.db import connection
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry

from pretix_grants import lifecycle, workflow
from pretix_grants.models import Grant

from ..racing import run_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != 'postgresql',
        reason='needs PostgreSQL (row locks); run `make test-postgres` or .ci/run',
    ),
]


@pytest.fixture
def programme(event, grant_settings, make_grant):
    event.settings.grants_promote_waiting_list = True
    offers = [make_grant(Grant.STATUS_APPROVED, email=f'offer{i}@example.org') for i in range(2)]
    waiting = [make_grant(Grant.STATUS_WAITING_LIST, email=f'waiting{i}@example.org', rank=i) for i in range(4)]
    return offers, waiting


@scopes_disabled()
def promoted(waiting):
    return list(Grant.objects.filter(pk__in=[g.pk for g in waiting], status=Grant.STATUS_APPROVED)
                .order_by('rank').values_list('pk', flat=True))


def refusal(event, pk):
    """The grantee's refusal on the reply page: in the organizer's scope, as pretix's middleware sets it."""
    def refuse():
        with scope(organizer=event.organizer):
            workflow.refuse(Grant.objects.get(pk=pk))
    return refuse


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_refusals_promote_exactly_two(programme, event):
    offers, waiting = programme
    for attempt in range(3):
        errors = run_at_once(*[refusal(event, o.pk) for o in offers])

        assert errors == []
        assert promoted(waiting) == [waiting[0].pk, waiting[1].pk]
        with scopes_disabled():
            freed = Grant.objects.filter(pk__in=[o.pk for o in offers])
            assert sorted(f.place_taken_by_id for f in freed) == [waiting[0].pk, waiting[1].pk]
            assert LogEntry.objects.filter(action_type='pretix_grants.grant.place_refilled').count() == 2
        assert sorted(m.to[0] for m in djmail.outbox if 'please confirm' in m.subject) == [
            'waiting0@example.org', 'waiting1@example.org',
        ]

        # the same race again from the start
        with scopes_disabled():
            Grant.objects.filter(pk__in=[o.pk for o in offers]).update(
                status=Grant.STATUS_APPROVED, place_taken_by=None)
            Grant.objects.filter(pk__in=[w.pk for w in waiting]).update(status=Grant.STATUS_WAITING_LIST)
            LogEntry.objects.filter(action_type='pretix_grants.grant.place_refilled').delete()
        djmail.outbox = []


@pytest.mark.django_db(transaction=True)
def test_many_simultaneous_promotions_for_one_freed_place_give_it_once(programme, event):
    offers, waiting = programme
    refusal(event, offers[0].pk)()  # commits and promotes waiting[0]
    assert promoted(waiting) == [waiting[0].pk]
    with scopes_disabled():  # as if the first promotion never ran
        Grant.objects.filter(pk=offers[0].pk).update(place_taken_by=None)

    def promotion():
        with scope(organizer=event.organizer):  # pretix's task for the event
            lifecycle.promote_for(Grant.objects.get(pk=offers[0].pk))

    errors = run_at_once(*[promotion for _ in range(8)])

    assert errors == []
    assert promoted(waiting) == [waiting[0].pk, waiting[1].pk]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_refusals_never_exceed_the_maximum_number_of_offers(event, grant_settings, make_grant):
    event.settings.grants_promote_waiting_list = True
    event.settings.grants_max_offers = 4
    offers = [make_grant(Grant.STATUS_APPROVED, email=f'offer{i}@example.org') for i in range(4)]
    waiting = [make_grant(Grant.STATUS_WAITING_LIST, email=f'waiting{i}@example.org', rank=i) for i in range(6)]

    errors = run_at_once(*[refusal(event, o.pk) for o in offers])

    assert errors == []
    assert promoted(waiting) == [w.pk for w in waiting[:4]]
    with scopes_disabled():
        assert Grant.objects.filter(event=event, status__in=Grant.HOLDING).count() == 4
