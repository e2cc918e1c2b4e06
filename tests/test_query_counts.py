from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from hierarkey.proxy import dirty_cache_keys
from pretix.base.models import Voucher

from pretix_grants import workflow
from pretix_grants.models import Grant

from .conftest import committed, event_scope

# confirm (lock, status, log), then the task: lock, voucher lookup, quota check, code, voucher, logs, mail
# queued, and here also pretix's mail send and webhook check, which a worker does after commit in production.
# PostgreSQL adds three for pretix's advisory quota lock (lock_objects). The grants' webhook events add two per
# grant log entry (pretix's webhook task looks up the entry and the organizer's webhooks), also a worker's job.
# The two features' status receivers (tickets, letters) add two each: the plugin's guard runs each in a savepoint,
# so a receiver that fails half-way leaves nothing half-done.
CONFIRMATION_QUERIES = {'sqlite': 49, 'postgresql': 52}


def confirm_counting(grant):
    # the reply page's confirmation, and the voucher task it queues, each in the organizer's scope
    with CaptureQueriesContext(connection) as ctx, event_scope(grant.event), committed():
        workflow.confirm(grant)
    grant.refresh_from_db()
    assert grant.voucher_state == Grant.VOUCHER_ISSUED
    return len(ctx.captured_queries)


@scopes_disabled()
def crowd(event, item, make_grant, n):
    """n other grants in every state, and n vouchers of this event sent or not."""
    statuses = [s for s, _ in Grant.STATUS_CHOICES]
    for i in range(n):
        make_grant(statuses[i % len(statuses)])
    Voucher.objects.bulk_create([
        Voucher(event=event, code=f'OTHER{i:05d}', item=item, price_mode='percent', value=Decimal('10.00'))
        for i in range(n)
    ])


@pytest.fixture
def settings_cached(settings):
    """
    Settings read as in production: from a cache, not the database. pretix's test settings use a dummy cache,
    and settings written in a test's (never committed) transaction stay "dirty" and are re-read on each access.
    """
    settings.CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}

    def ready():
        dirty_cache_keys.set(set())

    return ready


@pytest.mark.django_db
def test_one_confirmation_costs_a_fixed_number_of_queries(make_grant, grant_settings, event, item, settings_cached):
    settings_cached()
    confirm_counting(make_grant(Grant.STATUS_APPROVED))  # fills the caches a running pretix has warm
    first = confirm_counting(make_grant(Grant.STATUS_APPROVED))
    crowd(event, item, make_grant, 200)
    second = confirm_counting(make_grant(Grant.STATUS_APPROVED))
    print(f'\nqueries for one confirmation: {first} (empty event), {second} (200 grants, 200 vouchers)')
    assert second == first
    assert first <= CONFIRMATION_QUERIES[connection.vendor]


@pytest.mark.django_db
def test_confirmation_to_mail_queued_costs_at_most_25_queries(make_grant, grant_settings, event, item, settings,
                                                              settings_cached):
    """As in production: the mail's send and the webhook check are a worker's job after commit."""
    from pretix_grants import issuance

    settings.EMAIL_BACKEND = 'django.core.mail.backends.smtp.EmailBackend'  # pretix sends after commit
    settings_cached()

    def confirm(grant):
        with CaptureQueriesContext(connection) as ctx, event_scope(event):
            workflow.confirm(grant)
            issuance.issue_voucher(grant.pk, event=event)  # the task the confirmation queued
        grant.refresh_from_db()
        assert grant.voucher_state == Grant.VOUCHER_ISSUED
        # the two transactions are savepoints inside the test's; in production they are BEGIN/COMMIT, not counted
        return sum(1 for q in ctx.captured_queries if not q['sql'].startswith(('SAVEPOINT', 'RELEASE SAVEPOINT')))

    confirm(make_grant(Grant.STATUS_APPROVED))
    first = confirm(make_grant(Grant.STATUS_APPROVED))
    crowd(event, item, make_grant, 200)
    second = confirm(make_grant(Grant.STATUS_APPROVED))
    print(f'\nqueries from confirmation to mail queued: {first}, {second} with 200 grants and vouchers')
    assert first == second <= 25
