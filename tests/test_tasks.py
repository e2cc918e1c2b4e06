from datetime import timedelta

import pytest
from django.utils.timezone import now
from django_scopes import scopes_disabled
from freezegun import freeze_time

from pretix_grants import tasks, workflow
from pretix_grants.models import Grant

from .conftest import committed, event_scope, mails_to

# The tasks set their event's scope themselves (pretix's EventTask), the sweeper runs from cron with none: both
# are called with no scope active. The grantee's answers run in the organizer's scope, as the reply page runs them.


def vouchers(event):
    with scopes_disabled():
        return event.vouchers.count()


@pytest.mark.django_db
def test_task_delivered_twice_gives_one_voucher_and_one_mail(approved_grant, event):
    with event_scope(event), committed():
        workflow.confirm(approved_grant)
    tasks.issue_grant_voucher.apply(args=(event.pk, approved_grant.pk))
    tasks.issue_grant_voucher.apply(args=(event.pk, approved_grant.pk))

    assert vouchers(event) == 1
    assert len(mails_to('ada@example.org')) == 1


@pytest.mark.django_db
def test_task_for_a_grant_refused_meanwhile_does_nothing(approved_grant, event):
    with event_scope(event):
        workflow.confirm(approved_grant)  # the task is queued, but not run yet
        workflow.refuse(approved_grant)
    tasks.issue_grant_voucher.apply(args=(event.pk, approved_grant.pk))
    assert vouchers(event) == 0
    assert mails_to('ada@example.org') == []


@pytest.mark.django_db
def test_task_for_a_deleted_grant_does_nothing(approved_grant, event):
    pk = approved_grant.pk
    with scopes_disabled():
        approved_grant.delete()
    result = tasks.issue_grant_voucher.apply(args=(event.pk, pk))
    assert result.successful()
    assert vouchers(event) == 0


@pytest.mark.django_db
def test_lost_task_is_queued_again_by_the_sweeper(approved_grant, event):
    # the confirmation commits, but its task never arrives (broker down, worker killed before it ran)
    with event_scope(event):
        workflow.confirm(approved_grant)
    assert vouchers(event) == 0

    with committed():
        assert tasks.requeue_stale_issuance() == 0  # too fresh: its task may still be on its way
    assert vouchers(event) == 0

    with freeze_time(now() + tasks.STALE_AFTER + timedelta(seconds=1)):
        with committed():
            assert tasks.requeue_stale_issuance() == 1
    approved_grant.refresh_from_db()
    assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED
    assert vouchers(event) == 1
    assert len(mails_to('ada@example.org')) == 1

    with freeze_time(now() + 2 * tasks.STALE_AFTER):
        assert tasks.requeue_stale_issuance() == 0


def test_backoff_grows_and_is_capped():
    assert [tasks.backoff(n) for n in range(8)] == [10, 20, 40, 80, 160, 320, 600, 600]


@pytest.mark.django_db
def test_locks_timing_out_are_retried_then_left_for_the_sweeper_with_nothing_half_done(approved_grant, event, caplog):
    """pretix's own debug flag makes its lock_objects time out, as under heavy load."""
    from pretix.testutils.middleware import debugflags_var

    token = debugflags_var.set(frozenset({'fail-locking'}))
    try:
        with event_scope(event), committed():
            workflow.confirm(approved_grant)
    finally:
        debugflags_var.reset(token)
    assert caplog.text.count(f'Issuing the voucher of grant {approved_grant.pk} failed, will retry') > 1
    approved_grant.refresh_from_db()
    assert approved_grant.status == Grant.STATUS_CONFIRMED
    assert approved_grant.voucher_state == Grant.VOUCHER_NOT_ISSUED
    assert vouchers(event) == 0
    assert mails_to('ada@example.org') == []

    with freeze_time(now() + tasks.STALE_AFTER + timedelta(seconds=1)):
        with committed():
            tasks.requeue_stale_issuance()
    assert vouchers(event) == 1
    assert len(mails_to('ada@example.org')) == 1
