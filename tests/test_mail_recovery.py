"""
The sweep that sends a grant mail again when its sending stopped (a worker died holding or sending it):
``mails.resend_stalled``, run by pretix's periodic task.
"""
from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.utils.formats import date_format
from django.utils.timezone import localtime, now
from pretix.base.models import LogEntry, OutgoingMail
from pretix.base.signals import periodic_task

from pretix_grants import mails, workflow
from pretix_grants.models import Grant, GrantMail

from .conftest import committed, mails_to
from .control.conftest import url

pytestmark = pytest.mark.django_db
LONG_AGO = timedelta(minutes=30)


@pytest.fixture
def voucher_mail(approved_grant):
    """The grant's voucher mail, delivered; each test puts it back into the state it needs."""
    with committed():
        workflow.confirm(approved_grant)
    record = GrantMail.objects.get(grant=approved_grant, kind=GrantMail.KIND_VOUCHER)
    assert record.outgoing_mail.status == OutgoingMail.STATUS_SENT
    djmail.outbox = []
    return record


def stall(record, status, age=LONG_AGO, **fields):
    """The mail's row as a worker that died would have left it ``age`` ago."""
    at = now() - age
    values = {'status': status, 'created': at, 'sent': None, **fields}
    if status == OutgoingMail.STATUS_INFLIGHT:
        values['inflight_since'] = at
    OutgoingMail.objects.filter(pk=record.outgoing_mail_id).update(**values)


def resent_logs(grant):
    return list(LogEntry.objects.filter(object_id=grant.pk, action_type__in=(mails.RESENT, mails.RESENT_MAYBE_TWICE))
                .order_by('pk'))


def sweep():
    with committed():
        return mails.resend_stalled()


def test_default_threshold_is_five_smtp_timeouts_and_at_least_two_minutes(settings, monkeypatch):
    settings.EMAIL_TIMEOUT = 60
    assert mails.stalled_after() == timedelta(minutes=5)
    settings.EMAIL_TIMEOUT = 10
    assert mails.stalled_after() == timedelta(minutes=2)
    monkeypatch.setenv('PRETIX_GRANTS_STALLED_MAIL_SECONDS', '90')  # as [grants] stalled_mail_seconds=90
    assert mails.stalled_after() == timedelta(seconds=90)


def test_queued_mail_older_than_the_threshold_is_sent_again_once_and_logged(voucher_mail, approved_grant):
    stall(voucher_mail, OutgoingMail.STATUS_QUEUED)
    assert sweep() == (0, 1)

    [m] = mails_to('ada@example.org')
    approved_grant.refresh_from_db()
    assert approved_grant.voucher.code in m.body
    voucher_mail.outgoing_mail.refresh_from_db()
    assert voucher_mail.outgoing_mail.status == OutgoingMail.STATUS_SENT
    [log] = resent_logs(approved_grant)
    assert log.action_type == mails.RESENT
    assert log.parsed_data['outgoing_mail'] == voucher_mail.outgoing_mail_id
    assert str(log.display()) == ('An email was delayed (Your free ticket for PyConf 2027) and has been sent '
                                  'again.')
    # delivered now: the next sweep has nothing to do
    assert sweep() == (0, 0)
    assert len(mails_to('ada@example.org')) == 1


def test_a_mail_still_stuck_is_sent_again_once_per_sweep_and_not_again_too_soon(voucher_mail, approved_grant):
    stall(voucher_mail, OutgoingMail.STATUS_QUEUED)
    # no commit: the task handed to pretix never runs, as if its worker died again
    assert mails.resend_stalled() == (0, 1)
    assert mails.resend_stalled() == (0, 0)
    assert len(resent_logs(approved_grant)) == 1
    # once the last resend is itself older than the threshold, the next sweep tries again
    LogEntry.objects.filter(action_type=mails.RESENT).update(datetime=now() - LONG_AGO)
    assert mails.resend_stalled() == (0, 1)
    assert len(resent_logs(approved_grant)) == 2
    assert mails_to('ada@example.org') == []


def test_inflight_mail_is_sent_again_and_the_possible_duplicate_recorded(voucher_mail, approved_grant):
    stall(voucher_mail, OutgoingMail.STATUS_INFLIGHT)
    assert sweep() == (0, 1)

    assert len(mails_to('ada@example.org')) == 1
    voucher_mail.outgoing_mail.refresh_from_db()
    assert voucher_mail.outgoing_mail.status == OutgoingMail.STATUS_SENT
    [log] = resent_logs(approved_grant)
    assert log.action_type == mails.RESENT_MAYBE_TWICE
    assert 'the grantee may receive it twice' in str(log.display())


def test_awaiting_retry_long_overdue_is_sent_again(voucher_mail, approved_grant):
    stall(voucher_mail, OutgoingMail.STATUS_AWAITING_RETRY, retry_after=now() - LONG_AGO)
    assert sweep() == (0, 1)
    assert len(mails_to('ada@example.org')) == 1
    assert [log.action_type for log in resent_logs(approved_grant)] == [mails.RESENT]


@pytest.mark.parametrize('status,age,fields', [
    (OutgoingMail.STATUS_QUEUED, timedelta(seconds=30), {}),
    (OutgoingMail.STATUS_INFLIGHT, timedelta(seconds=30), {}),
    # retry_after relative to the test's own now: evaluated at collection, it would age with the suite
    (OutgoingMail.STATUS_AWAITING_RETRY, LONG_AGO, {'retry_after': timedelta(minutes=5)}),
    (OutgoingMail.STATUS_AWAITING_RETRY, LONG_AGO, {'retry_after': -timedelta(seconds=30)}),
    (OutgoingMail.STATUS_SENT, LONG_AGO, {}),
    (OutgoingMail.STATUS_FAILED, LONG_AGO, {}),
])
def test_young_waiting_or_finished_mails_are_left_alone(voucher_mail, approved_grant, status, age, fields):
    stall(voucher_mail, status, age=age, **{k: now() + v for k, v in fields.items()})
    assert sweep() == (0, 0)
    assert mails_to('ada@example.org') == []
    assert resent_logs(approved_grant) == []
    voucher_mail.outgoing_mail.refresh_from_db()
    assert voucher_mail.outgoing_mail.status == status


def test_owed_mail_never_handed_to_pretix_is_handed_over_by_the_sweep(make_grant, grant_settings, event):
    grant = make_grant(Grant.STATUS_APPROVED, email='owed@example.org')
    with committed():
        workflow.confirm(grant)
    grant.refresh_from_db()
    # as a bulk issuance leaves it when the worker that was to deliver it died: voucher issued, mail owed
    GrantMail.objects.filter(grant=grant).delete()
    djmail.outbox = []
    record = GrantMail.objects.create(grant=grant, kind=GrantMail.KIND_VOUCHER, pending=True)
    assert sweep() == (0, 0)  # young: its task may still be on the way

    GrantMail.objects.filter(pk=record.pk).update(created=now() - LONG_AGO)
    assert sweep() == (1, 0)
    [m] = mails_to('owed@example.org')
    assert grant.voucher.code in m.body
    record.refresh_from_db()
    assert not record.pending and record.outgoing_mail.status == OutgoingMail.STATUS_SENT


def test_periodic_task_runs_the_sweep(voucher_mail, approved_grant):
    stall(voucher_mail, OutgoingMail.STATUS_INFLIGHT)
    with committed():
        periodic_task.send_robust(None)
    assert len(mails_to('ada@example.org')) == 1
    assert len(resent_logs(approved_grant)) == 1


def test_grant_page_shows_delayed_and_resent_at(manager_client, event, voucher_mail, approved_grant):
    stall(voucher_mail, OutgoingMail.STATUS_INFLIGHT)
    html = manager_client.get(url(event, f'{approved_grant.pk}/')).content.decode()
    assert 'delayed, resent at' not in html
    sweep()

    html = manager_client.get(url(event, f'{approved_grant.pk}/')).content.decode()
    [log] = resent_logs(approved_grant)
    when = date_format(localtime(log.datetime, event.timezone), 'SHORT_DATETIME_FORMAT')
    assert f'delayed, resent at {when}' in html
    assert 'may arrive twice' in html
    assert 'the grantee may receive it twice' in html  # the log entry, in the grant's log
