"""
Real concurrency: many threads, each with its own database connection, acting on one grant at once.

Only PostgreSQL has the row locks this relies on (as in production); SQLite serialises whole transactions and
cannot show a race either way, so these tests are skipped there with that reason.
"""

import pytest
from django.core import mail as djmail
from django.db import connection
from django_scopes import scopes_disabled
from pretix.base.models import LogEntry, Voucher

from pretix_grants import workflow
from pretix_grants.models import Grant

from .conftest import event_scope
from .racing import run_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != 'postgresql',
        reason='needs PostgreSQL (row locks); run `make test-postgres` or .ci/run',
    ),
]


@pytest.mark.django_db(transaction=True)
def test_many_simultaneous_confirmations_give_one_voucher_and_one_mail(approved_grant, event):
    pk = approved_grant.pk

    def confirm():
        with event_scope(event):  # as the reply page, in twenty requests at once
            workflow.confirm(Grant.objects.get(pk=pk))

    errors = run_at_once(*[confirm for _ in range(20)])

    assert errors == []
    with scopes_disabled():
        grant = Grant.objects.get(pk=pk)
        assert Voucher.objects.filter(event=event).count() == 1
    assert grant.status == Grant.STATUS_CONFIRMED
    assert grant.voucher_state == Grant.VOUCHER_ISSUED
    assert [m.to for m in djmail.outbox] == [['ada@example.org']]
    assert LogEntry.objects.filter(action_type='pretix_grants.grant.confirmed', object_id=pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_confirm_and_cancel_at_once_end_consistently(make_grant, grant_settings, event):
    for i in range(5):
        pk = make_grant(Grant.STATUS_APPROVED, email=f'race{i}@example.org').pk

        def confirm():
            with event_scope(event):  # the reply page
                workflow.confirm(Grant.objects.get(pk=pk))

        def cancel():
            with event_scope(event):  # the grant's page in the control panel
                workflow.cancel(Grant.objects.get(pk=pk), reason='budget')

        errors = run_at_once(confirm, cancel)

        with scopes_disabled():
            grant = Grant.objects.get(pk=pk)
            # none issued, or issued and ended: no voucher of the event can be used
            assert not Voucher.objects.filter(event=event, max_usages__gt=0).exists()
        assert len(errors) <= 1 and all(isinstance(e, workflow.GrantTransitionError) for e in errors)
        assert grant.status == Grant.STATUS_CANCELLED  # cancel wins either way: it may follow a confirmation
        assert grant.voucher is None
