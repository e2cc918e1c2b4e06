"""
Chaos on the production stack: a bulk "issue vouchers and email" for N confirmed grants while the worker's parent
process is killed and restarted, the SMTP server answers 421 for a while and a worker's PostgreSQL connection is
terminated in the middle of sending a mail. Recovery is pretix's cron's alone: ``python -m pretix runperiodic`` in
a subprocess every minute, with the settings doc/operations.md recommends, and no direct call of any sweep. Every
grantee has their voucher mail within minutes, with one voucher per grant; a second copy of a mail only where the
sweep recorded it may arrive twice (a send cut off after the SMTP server may have accepted it).

``make chaos`` runs this scenario alone and prints its figures (tests/stack/chaos.py).
"""
import os
import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, OutgoingMail, Voucher

from pretix_grants import mails
from pretix_grants.control import bulk
from pretix_grants.models import Grant, GrantMail

from .conftest import Cron, wait_for
from .test_stack import visibility_timeout_passes, wait_settled

pytestmark = pytest.mark.django_db(transaction=True)


N = int(os.environ.get('GRANTS_CHAOS_N', '200'))
# every grantee's mail within this long after the last fault (make chaos: --bound)
BOUND = int(os.environ.get('GRANTS_CHAOS_BOUND', '300'))
REFUSE_FOR = 20  # seconds the SMTP server answers 421
RESTART_AFTER = 5  # seconds between the kill and the new worker
# seconds between runs of pretix's runperiodic, as cron's `* * * * *` (make chaos: --cron-every)
CRON_EVERY = int(os.environ.get('GRANTS_CHAOS_CRON_EVERY', '60'))


def idle_worker_backend(since, exclude):
    """
    The PostgreSQL backend of a worker that has been idle since before ``since`` (a time.time()): a mail task that
    marked its mail "being sent" and now waits for the SMTP server holds exactly such a connection.
    """
    with connections['default'].cursor() as c:
        c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' "
            "AND state = 'idle' AND state_change < to_timestamp(%s) AND pid <> pg_backend_pid() AND pid <> ALL(%s) "
            "ORDER BY state_change DESC",
            [since, list(exclude)],
        )
        row = c.fetchone()
    return row[0] if row else None


class Bulk(threading.Thread):
    """The control panel's bulk "issue vouchers and email", in a process of its own (here: a thread)."""

    def __init__(self, event, ids):
        super().__init__()
        self.event, self.ids, self.backend, self.results, self.error = event, ids, None, None, None
        self.started_backend = threading.Event()

    def run(self):
        try:
            with connection.cursor() as c:
                c.execute('SELECT pg_backend_pid()')
                self.backend = c.fetchone()[0]
            self.started_backend.set()
            with scope(organizer=self.event.organizer):  # as the control panel's request runs it
                self.results = bulk.run_issue(self.event, self.ids)
        except Exception as e:  # noqa: B902 - asserted by the test
            self.error = e
        finally:
            self.started_backend.set()
            connection.close()


def figures(event, grants, sink, faults_over):
    """What an operator wants to know: the table ``make chaos`` prints."""
    with scopes_disabled():
        return _figures(event, grants, sink, faults_over)


def _figures(event, grants, sink, faults_over):
    emails = {g.email for g in grants}
    per_grantee = Counter()
    for m in sink.messages:
        for r in m.rcpt_tos:
            if r in emails:
                per_grantee[r] += 1
    firsts = {}
    for m in sink.messages:
        for r in m.rcpt_tos:
            firsts.setdefault(r, m.received_at)
    resent = Counter(LogEntry(data=data).parsed_data.get('status') for data in LogEntry.objects.filter(
        event=event, action_type__in=(mails.RESENT, mails.RESENT_MAYBE_TWICE)).values_list('data', flat=True))
    return {
        'grants': len(grants),
        'vouchers': Voucher.objects.filter(event=event).count(),
        'grants with a voucher': event.grants.filter(voucher__isnull=False).count(),
        'grantees with 0 mails': sum(1 for e in emails if per_grantee[e] == 0),
        'grantees with 1 mail': sum(1 for e in emails if per_grantee[e] == 1),
        'grantees with >1 mails': sum(1 for e in emails if per_grantee[e] > 1),
        'mails sent again by the sweep': sum(resent.values()),
        '... left queued': resent[OutgoingMail.STATUS_QUEUED],
        '... left awaiting a retry': resent[OutgoingMail.STATUS_AWAITING_RETRY],
        '... left being sent (may arrive twice, recorded)': resent[OutgoingMail.STATUS_INFLIGHT],
        'time to the last mail after the faults (s)': round(max(firsts.values(), default=faults_over) - faults_over, 1),
        'sweep threshold (s)': int(mails.stalled_after().total_seconds()),
        'runperiodic every (s)': CRON_EVERY,
    }


def print_table(rows, *lines):
    width = max(len(k) for k in rows)
    table = '\n'.join([f'{k.ljust(width)}  {v}' for k, v in rows.items()] + list(lines))
    print('\n' + table)
    if os.environ.get('GRANTS_CHAOS_REPORT'):  # make chaos prints it again after pytest's output
        with open(os.environ['GRANTS_CHAOS_REPORT'], 'a') as f:
            f.write(table + '\n')


def test_bulk_issue_through_a_killed_worker_a_refusing_mail_server_and_a_lost_connection(
        stack, worker_env, make_grant, grant_settings, event, quota):
    worker, sink = stack
    env, log_dir = worker_env
    with scopes_disabled():
        quota.size = N
        quota.save()
    grants = [make_grant(Grant.STATUS_CONFIRMED) for _ in range(N)]

    started = time.monotonic()
    cron_log = open(log_dir / f'cron-{time.monotonic_ns()}.log', 'w')
    cron = Cron(env, cron_log, every=CRON_EVERY).start()
    issuing = Bulk(event, [g.pk for g in grants])
    issuing.start()
    issuing.started_backend.wait(timeout=30)
    wait_for(lambda: len(sink.messages) >= N // 10, timeout=120, interval=0.05, what='the first voucher mails')

    # the SMTP server refuses for a while, and takes its time to say so
    refusing_since = time.monotonic()
    sink.refusing, sink.delay = True, 2
    wait_for(lambda: sink.delayed, timeout=60, interval=0.02, what='a mail being sent')
    backend = wait_for(lambda: idle_worker_backend(sink.delayed[0], {issuing.backend}), timeout=10, interval=0.05,
                       what="the sending worker's idle database connection")
    with connection.cursor() as c:
        c.execute('SELECT pg_terminate_backend(%s)', [backend])
    sink.delay = 0
    wait_for(lambda: sink.refused >= 3, timeout=60, interval=0.05, what='refused mails, up for a retry')

    worker.kill_parent()
    time.sleep(RESTART_AFTER)  # the scenario's own pause: the new worker comes some seconds later
    worker.start()
    wait_for(lambda: time.monotonic() - refusing_since >= REFUSE_FOR, timeout=REFUSE_FOR + 5, interval=0.2,
             what='the end of the refusals')
    sink.refusing = False
    faults_over = time.monotonic()

    # nothing but pretix's cron from here on, until every grantee has their mail (or the bound has passed)
    emails = {g.email for g in grants}
    try:
        wait_for(lambda: {r for m in sink.messages for r in m.rcpt_tos} >= emails, timeout=BOUND, interval=1,
                 what='every grantee to get the voucher mail')
    finally:
        issuing.join(timeout=120)
        cron.stop()
        cron_errors = cron.errors()
        cron_log.close()
        print_table(figures(event, grants, sink, faults_over), f'runperiodic runs: {cron.runs}, errors of the '
                    f'plugin in them: {len(cron_errors)}', f'whole scenario: {time.monotonic() - started:.0f} s')
    assert cron_errors == []
    assert issuing.error is None

    # nothing is left half-sent; the messages the killed worker had taken come back when the broker's visibility
    # timeout passes, and they change nothing
    def unfinished():
        with scopes_disabled():
            return OutgoingMail.objects.filter(event=event, status__in=(
                OutgoingMail.STATUS_QUEUED, OutgoingMail.STATUS_INFLIGHT, OutgoingMail.STATUS_AWAITING_RETRY)).exists()

    wait_for(lambda: not unfinished(), timeout=60, what='every outgoing mail to be finished')
    stranded = visibility_timeout_passes()
    wait_settled(timeout=120)

    with scopes_disabled():
        assert Voucher.objects.filter(event=event).count() == N
        assert event.grants.filter(voucher_state=Grant.VOUCHER_ISSUED).count() == N
        assert len(set(event.grants.values_list('voucher_id', flat=True))) == N
        assert not GrantMail.objects.filter(grant__event=event, pending=True).exists()
        per_grantee = Counter(r for m in sink.messages for r in m.rcpt_tos)
        assert set(per_grantee) == emails
        for g in Grant.objects.filter(event=event).select_related('voucher'):
            assert any(g.voucher.code in m.content.decode() for m in sink.to(g.email))
        # a second copy only where the sweep recorded that the first may have gone out
        maybe_twice = set(LogEntry.objects.filter(event=event, action_type=mails.RESENT_MAYBE_TWICE)
                          .values_list('object_id', flat=True))
        doubled = {g.pk for g in grants if per_grantee[g.email] > 1}
        assert doubled <= maybe_twice
        assert all(per_grantee[g.email] <= 2 for g in grants)
    print(f'messages the killed worker had taken, back after the visibility timeout: {stranded}')
