"""
The foundation's promises on the stack pretix runs in production: PostgreSQL, Redis, a real Celery worker in its
own process, and mail over SMTP. Exactly one voucher and one mail per confirmed grant, whatever happens.

In production's conditions: a confirmation runs in the organizer's scope as the grantee's reply page runs it, the
sweeps with no scope as pretix's cron runs them, the worker in its own process; the tests' own reads disable scopes.
"""
import contextlib
import os
import threading
import time
from datetime import timedelta

import pytest
import redis
from django.db import connection, connections, transaction
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, OutgoingMail, Voucher
from pretix.celery_app import app

from pretix_grants import mails, tasks, workflow
from pretix_grants.models import Grant, GrantMail

from .conftest import QUEUES, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def queues_empty():
    r = redis.Redis(host='127.0.0.1', port=6379, db=6)
    return all(r.llen(k) == 0 for q in QUEUES.split(',') for k in r.scan_iter(f'{q}*') if r.type(k) == b'list')


def settled():
    """Nothing queued, nothing running, nothing taken but unacknowledged."""
    inspect = app.control.inspect(timeout=1)
    busy = [inspect.active(), inspect.reserved()]
    unacked = redis.Redis(host='127.0.0.1', port=6379, db=6).hlen('unacked')
    return queues_empty() and unacked == 0 and all(b is not None and not any(b.values()) for b in busy)


def wait_settled(timeout=60):
    # settled twice in a row, so a task that was just being handed over is not missed
    wait_for(lambda: settled() and settled(), timeout=timeout, what='the worker to finish every task')


def visibility_timeout_passes():
    """
    What Redis does with a message unacknowledged for the broker's visibility timeout: it goes back to its queue.
    Returns how many did.
    """
    tags = redis.Redis(host='127.0.0.1', port=6379, db=6).hkeys('unacked')
    with app.connection_for_write() as conn:
        for tag in tags:
            conn.default_channel.qos.restore_by_tag(tag.decode())
    return len(tags)


def confirm(grant):
    """As the grantee's reply page confirms: in the organizer's scope, the voucher task queued at commit."""
    with scope(organizer=grant.event.organizer):
        workflow.confirm(grant)


@scopes_disabled()
def voucher_mail_status(grant):
    record = GrantMail.objects.filter(grant=grant, kind=GrantMail.KIND_VOUCHER).select_related('outgoing_mail').first()
    return record.status if record else None


class HeldLock:
    """Holds the grant's row lock from another connection, so the worker's issuance blocks on it."""

    def __init__(self, pk):
        self.pk, self.taken, self.release = pk, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        try:
            with scopes_disabled(), transaction.atomic():
                Grant.objects.select_for_update().get(pk=self.pk)
                self.taken.set()
                self.release.wait(timeout=120)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.taken.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(timeout=30)


def blocked_backends():
    """PostgreSQL backends of this database waiting for a row lock: the worker's blocked issuance."""
    with connections['default'].cursor() as c:
        c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        return [r[0] for r in c.fetchall()]


@contextlib.contextmanager
def issuance_blocked(worker, grant):
    """
    Confirm ``grant`` and have the worker's voucher task stuck on the grant's row lock for as long as the block
    runs; yields the blocked PostgreSQL backends.
    """
    worker.stop()
    confirm(grant)  # its task waits in Redis
    with HeldLock(grant.pk):
        worker.start()
        yield wait_for(blocked_backends, what="the worker's issuance to block on the grant's lock")


@scopes_disabled()
def assert_one_voucher_and_one_mail(grant, sink):
    grant.refresh_from_db()
    assert grant.voucher_state == Grant.VOUCHER_ISSUED
    assert Voucher.objects.filter(event=grant.event).count() == 1
    assert len(sink.to(grant.email)) == 1
    assert grant.voucher.code in sink.to(grant.email)[0].content.decode()


def test_fifty_simultaneous_confirmations_give_one_voucher_and_one_mail(stack, approved_grant):
    _, sink = stack
    pk, organizer = approved_grant.pk, approved_grant.event.organizer
    barrier = threading.Barrier(50)
    errors = []

    def confirm_page():
        try:
            with scope(organizer=organizer):  # fifty reply pages at once
                barrier.wait(timeout=30)
                workflow.confirm(Grant.objects.get(pk=pk))
        except Exception as e:  # noqa: B902 - asserted below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm_page) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []

    wait_for(lambda: len(sink.to('ada@example.org')) >= 1, what='the voucher mail')
    wait_settled()
    assert_one_voucher_and_one_mail(approved_grant, sink)


def test_confirm_and_cancel_at_the_same_moment_leave_no_voucher_behind(stack, make_grant, grant_settings, event):
    _, sink = stack
    for i in range(5):
        pk = make_grant(Grant.STATUS_APPROVED, email=f'race{i}@example.org').pk
        barrier = threading.Barrier(2)

        def act(action):
            try:
                with scope(organizer=event.organizer):  # the reply page and the control panel at once
                    barrier.wait(timeout=30)
                    action(Grant.objects.get(pk=pk))
            except workflow.GrantTransitionError:
                pass  # the cancel came first: confirming a cancelled grant is refused
            finally:
                connection.close()

        threads = [threading.Thread(target=act, args=(workflow.confirm,)),
                   threading.Thread(target=act, args=(lambda g: workflow.cancel(g, reason='race'),))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    wait_settled()
    with scopes_disabled():
        assert set(event.grants.values_list('status', flat=True)) == {Grant.STATUS_CANCELLED}
        assert not Voucher.objects.filter(event=event).exists()


def test_task_delivered_twice_gives_one_voucher_and_one_mail(stack, approved_grant, event):
    _, sink = stack
    confirm(approved_grant)
    for _ in range(2):
        tasks.issue_grant_voucher.apply_async(args=(event.pk, approved_grant.pk))
    wait_for(lambda: sink.to('ada@example.org'), what='the voucher mail')
    wait_settled()
    assert_one_voucher_and_one_mail(approved_grant, sink)


def test_worker_killed_in_the_middle_of_issuance_recovers_through_the_sweep(stack, approved_grant, event):
    worker, sink = stack
    with issuance_blocked(worker, approved_grant):
        worker.kill()
    with scopes_disabled():
        assert not Voucher.objects.exists()
    worker.start()

    # The killed worker never acknowledged its task, and Redis keeps such a message aside for the visibility
    # timeout (an hour, as recommended), so the new worker does not get it. The plugin's periodic sweep queues the
    # issuance again once the grant has waited tasks.STALE_AFTER; here the grant is made to look that old.
    # The sweep runs as pretix's cron runs it: no scope active.
    assert redis.Redis(host='127.0.0.1', port=6379, db=6).hlen('unacked') == 1
    assert tasks.requeue_stale_issuance() == 0
    with scopes_disabled():
        Grant.objects.filter(pk=approved_grant.pk).update(modified=now() - tasks.STALE_AFTER - timedelta(seconds=1))
    assert tasks.requeue_stale_issuance() == 1
    wait_for(lambda: sink.to('ada@example.org'), timeout=90, what='the voucher mail after the sweep')

    # when the hour has passed and the killed worker's message comes back, it finds its work done
    assert visibility_timeout_passes() == 1
    wait_settled()
    assert_one_voucher_and_one_mail(approved_grant, sink)


def test_database_connection_lost_during_issuance_is_retried(stack, approved_grant):
    worker, sink = stack
    with issuance_blocked(worker, approved_grant) as pids:
        with connection.cursor() as c:
            for pid in pids:
                c.execute('SELECT pg_terminate_backend(%s)', [pid])
    wait_for(lambda: sink.to('ada@example.org'), timeout=90, what='the voucher mail after the retry')
    wait_settled()
    assert f'Issuing the voucher of grant {approved_grant.pk} failed, will retry' in worker.output()
    assert_one_voucher_and_one_mail(approved_grant, sink)


def test_refusing_mail_server_then_recovering_delivers_the_voucher_mail_once(stack, approved_grant):
    _, sink = stack
    sink.refusing = True
    confirm(approved_grant)

    states = [wait_for(lambda: voucher_mail_status(approved_grant), what='the voucher mail record')]
    wait_for(lambda: voucher_mail_status(approved_grant) == OutgoingMail.STATUS_AWAITING_RETRY,
             what='pretix to put the mail up for a retry')
    states.append(voucher_mail_status(approved_grant))
    assert sink.refused >= 1
    with scopes_disabled():
        approved_grant.refresh_from_db()
    assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED  # the voucher does not wait for the mail

    sink.refusing = False
    wait_for(lambda: voucher_mail_status(approved_grant) == OutgoingMail.STATUS_SENT, timeout=90,
             what="pretix's retry to deliver the mail")
    states.append(voucher_mail_status(approved_grant))
    wait_settled()
    assert states[-2:] == [OutgoingMail.STATUS_AWAITING_RETRY, OutgoingMail.STATUS_SENT]
    assert_one_voucher_and_one_mail(approved_grant, sink)


def test_a_thousand_confirmations_queued_at_once(stack, make_grant, grant_settings, event, quota):
    _, sink = stack
    n = int(os.environ.get('GRANTS_STACK_N', '1000'))
    with scopes_disabled():
        quota.size = n
        quota.save()
    grants = [make_grant(Grant.STATUS_APPROVED) for _ in range(n)]

    started = time.monotonic()
    for g in grants:
        confirm(g)
    queued = time.monotonic() - started
    wait_for(lambda: len(sink.messages) >= n, timeout=600, interval=0.5, what=f'{n} voucher mails')
    delivered = time.monotonic() - started
    # pretix's webhook checks for the grants' log entries (one task each) may still be queued behind the mails
    wait_settled(timeout=600)

    print(f'\n{n} confirmations: queued in {queued:.1f} s, all vouchers mailed after {delivered:.1f} s '
          f'({n / delivered:.1f} per second, one worker with 2 processes)')
    with scopes_disabled():
        assert Voucher.objects.filter(event=event).count() == n
        assert event.grants.filter(voucher_state=Grant.VOUCHER_ISSUED).count() == n
    assert len(sink.messages) == n
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == sorted(g.email for g in grants)


def test_a_slow_but_live_send_is_not_sent_again_by_the_sweep(stack, approved_grant):
    _, sink = stack
    sink.delay = 5  # the mail server takes its time
    confirm(approved_grant)
    wait_for(lambda: sink.delayed and voucher_mail_status(approved_grant) == OutgoingMail.STATUS_INFLIGHT,
             what='the voucher mail being sent')

    # the sweep while it is being sent, as cron runs it (no scope; no worker is asked anything): the send is within
    # its lease, the threshold
    assert mails.resend_stalled() == (0, 0)
    assert voucher_mail_status(approved_grant) == OutgoingMail.STATUS_INFLIGHT
    wait_for(lambda: voucher_mail_status(approved_grant) == OutgoingMail.STATUS_SENT, what='the slow send to end')
    wait_settled()
    with scopes_disabled():
        assert not LogEntry.objects.filter(action_type__in=(mails.RESENT, mails.RESENT_MAYBE_TWICE)).exists()
    assert_one_voucher_and_one_mail(approved_grant, sink)
