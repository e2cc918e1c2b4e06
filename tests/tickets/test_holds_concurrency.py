"""
Held tickets under real concurrency: many applications at once, each in its own thread and database connection,
as the shop's application form would take them. Only PostgreSQL has the locks this relies on (pretix's
``lock_objects`` takes advisory locks there); on SQLite the test is skipped.
"""
import threading

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled
from pretix.base.models import Voucher
from pretix.base.services.quotas import QuotaAvailability

from pretix_grants import workflow
from pretix_grants.models import Grant, TicketHold

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != 'postgresql', reason='needs PostgreSQL (pretix\'s quota locks)'),
]


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_applications_for_ten_places_hold_exactly_ten(event, quota, grant_settings):
    with scopes_disabled():
        quota.size = 10
        quota.save()
    event.settings.grants_hold_tickets = 'pending'
    barrier = threading.Barrier(50)
    errors = []

    def apply(n):
        try:
            with scope(organizer=event.organizer):  # what pretix's middleware gives the application form
                barrier.wait(timeout=60)
                workflow.create_grant(event, name=f'Applicant {n}', email=f'applicant{n}@example.org', notify=False)
        except Exception as e:  # noqa: B902 - collected and asserted on
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        assert not t.is_alive(), 'a thread hung'

    assert errors == []
    with scopes_disabled():
        assert Grant.objects.filter(event=event).count() == 50
        states = list(TicketHold.objects.values_list('state', flat=True))
        assert states.count(TicketHold.STATE_HELD) == 10 and states.count(TicketHold.STATE_FULL) == 40
        assert Voucher.objects.filter(event=event, block_quota=True).count() == 10
        qa = QuotaAvailability(count_waitinglist=False)
        qa.queue(quota)
        qa.compute()
        assert qa.results[quota][1] == 0  # pretix's quota page: nothing left
