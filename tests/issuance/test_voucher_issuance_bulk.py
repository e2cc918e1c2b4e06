from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, OutgoingMail

from pretix_grants import issuance, mails, tasks, workflow
from pretix_grants.models import Grant, GrantMail

from ..conftest import committed, mails_to
from ..test_query_counts import (  # NOQA: F401 (a fixture)
    settings_cached as _settings_cached,
)
from .test_voucher_issuance import redeem, sent_by_pretix


def in_task(event):
    """The plugin's code as pretix's task (the control panel's bulk action, the mail task) runs it."""
    return scope(organizer=event.organizer)


@pytest.fixture
def confirmed(make_grant, grant_settings):
    def make(n):
        return [make_grant(Grant.STATUS_CONFIRMED) for _ in range(n)]

    return make


@scopes_disabled()
def fresh(grants):
    return {g.pk: g for g in Grant.objects.filter(pk__in=[g.pk for g in grants]).select_related('voucher')}


@pytest.mark.django_db
def test_each_grant_gets_one_free_voucher_and_one_mail(confirmed, event, item, user):
    grants = confirmed(7)
    with in_task(event):
        result = issuance.issue_vouchers(event, [g.pk for g in grants], user=user, batch_size=3)

    assert set(result) == {g.pk for g in grants}
    after = fresh(grants)
    with scopes_disabled():
        assert event.vouchers.count() == 7
        assert len({g.voucher.code for g in after.values()}) == 7
        for g in after.values():
            v = g.voucher
            assert g.voucher_state == Grant.VOUCHER_ISSUED
            assert (v.item, v.price_mode, v.value, v.max_usages, v.tag) == (item, 'set', Decimal('0.00'), 1, 'grant')
            assert v.calculate_price(item.default_price) == Decimal('0.00')
            assert g.name in v.comment
            mails = mails_to(g.email)
            assert len(mails) == 1 and v.code in mails[0].body
            assert g.mails.filter(kind=GrantMail.KIND_VOUCHER).count() == 1
            added = LogEntry.objects.get(action_type='pretix.voucher.added', object_id=v.pk)
            assert added.user == user
            assert len(added.data) < 1024
            assert LogEntry.objects.filter(action_type='pretix_grants.grant.voucher.issued',
                                           object_id=g.pk).count() == 1
            assert LogEntry.objects.filter(action_type='pretix_grants.grant.mail.sent', object_id=g.pk).count() == 1
        assert OutgoingMail.objects.filter(event=event).count() == 7


@pytest.mark.django_db
def test_running_again_does_nothing(confirmed, event):
    grants = confirmed(4)
    ids = [g.pk for g in grants]
    with in_task(event):
        issuance.issue_vouchers(event, ids)
    codes = {g.pk: g.voucher.code for g in fresh(grants).values()}
    with scopes_disabled():
        logs = LogEntry.objects.count()

    with in_task(event):
        issuance.issue_vouchers(event, ids)
        issuance.issue_voucher(grants[0], event=event)

    assert {g.pk: g.voucher.code for g in fresh(grants).values()} == codes
    with scopes_disabled():
        assert event.vouchers.count() == 4
        assert OutgoingMail.objects.filter(event=event).count() == 4
        assert LogEntry.objects.count() == logs


@pytest.mark.django_db
def test_grants_not_due_are_left_alone(make_grant, grant_settings, event):
    confirmed = make_grant(Grant.STATUS_CONFIRMED)
    pending = make_grant(Grant.STATUS_PENDING)
    no_ticket = make_grant(Grant.STATUS_CONFIRMED, ticket=False)
    with in_task(event):
        result = issuance.issue_vouchers(event, [confirmed.pk, pending.pk, no_ticket.pk, 999999])

    assert set(result) == {confirmed.pk, pending.pk, no_ticket.pk}
    assert result[confirmed.pk].voucher_state == Grant.VOUCHER_ISSUED
    for g in (pending, no_ticket):
        assert result[g.pk].voucher_state == Grant.VOUCHER_NOT_ISSUED
        assert mails_to(g.email) == []
    with scopes_disabled():
        assert event.vouchers.count() == 1


@pytest.mark.django_db
def test_quota_too_small_for_all_gives_as_many_as_fit_and_flags_the_rest(confirmed, event, quota):
    with scopes_disabled():
        quota.size = 2
        quota.save()
    grants = confirmed(4)
    with in_task(event):
        result = issuance.issue_vouchers(event, [g.pk for g in grants])

    states = [result[g.pk].voucher_state for g in grants]
    assert states == [Grant.VOUCHER_ISSUED] * 2 + [Grant.VOUCHER_NEEDS_ATTENTION] * 2
    with scopes_disabled():
        assert event.vouchers.count() == 2
        for g in grants[2:]:
            assert 'quota' in result[g.pk].voucher_attention
            assert mails_to(g.email) == []
            assert LogEntry.objects.filter(action_type='pretix_grants.grant.voucher.needs_attention',
                                           object_id=g.pk).exists()


@pytest.mark.django_db
def test_missing_settings_flag_every_grant(make_grant, event):
    grants = [make_grant(Grant.STATUS_CONFIRMED) for _ in range(2)]
    with in_task(event):
        result = issuance.issue_vouchers(event, [g.pk for g in grants])
    assert all(r.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION for r in result.values())
    with scopes_disabled():
        assert not event.vouchers.exists()


@pytest.mark.django_db
def test_existing_vouchers_are_upgraded_linked_or_flagged_per_grant(confirmed, event, item, user):
    upgraded, linked, used, plain = grants = confirmed(4)
    v25 = sent_by_pretix(event, user, upgraded.email.upper(), code='COSPEAKER25', price_mode='percent',
                         value=Decimal('25.00'), item=item, max_usages=1)
    free = sent_by_pretix(event, user, linked.email, code='SPEAKERFREE', price_mode='set', value=Decimal('0.00'),
                          item=item)
    redeemed = sent_by_pretix(event, user, used.email, code='USED25', price_mode='percent',
                              value=Decimal('25.00'), item=item)
    order = redeem(redeemed, item)

    with in_task(event):
        result = issuance.issue_vouchers(event, [g.pk for g in grants], user=user)

    with scopes_disabled():
        assert (result[upgraded.pk].voucher, result[upgraded.pk].voucher_state) == (v25, Grant.VOUCHER_UPGRADED)
        v25.refresh_from_db()
        assert v25.calculate_price(item.default_price) == Decimal('0.00')
        assert (result[linked.pk].voucher, result[linked.pk].voucher_state) == (free, Grant.VOUCHER_LINKED)
        assert result[used.pk].voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
        assert order.code in result[used.pk].voucher_attention
        assert result[plain.pk].voucher_state == Grant.VOUCHER_ISSUED
        assert event.vouchers.count() == 4  # three of their own, one new
    assert 'COSPEAKER25' in mails_to(upgraded.email)[0].body
    assert mails_to(used.email) == []

    # a refusal later gives the 25% back, as with a voucher issued on its own
    with in_task(event):  # as the grantee's reply page runs it
        workflow.refuse(result[upgraded.pk], actor=workflow.GRANTEE)
    with scopes_disabled():
        v25.refresh_from_db()
    assert (v25.price_mode, v25.value) == ('percent', Decimal('25.00'))


@pytest.mark.django_db
def test_issuing_a_batch_costs_the_same_queries_for_2_or_12_grants(confirmed, event, settings, _settings_cached):  # NOQA: F811
    # mail as in production: pretix's send, and the rendering of owed mails, wait for the commit
    settings.EMAIL_BACKEND = 'django.core.mail.backends.dummy.EmailBackend'
    _settings_cached()

    def count(n, issue):
        grants = confirmed(n)
        with in_task(event), CaptureQueriesContext(connection) as ctx:
            issue(grants)
        return len(ctx.captured_queries)

    def one_by_one(grants):
        for g in grants:
            issuance.issue_voucher(g.pk, event=event)

    def batch(grants):
        issuance.issue_vouchers(event, [g.pk for g in grants])

    count(1, batch)
    single = (count(12, one_by_one) - count(2, one_by_one)) / 10
    small, large = count(2, batch), count(12, batch)
    print(f'\nqueries per grant one by one: {single}; a batch of 2: {small}, of 12: {large}')
    assert large == small
    assert single > 5
    with scopes_disabled():
        assert GrantMail.objects.filter(pending=True).count() == 1 + 2 + 12


@pytest.mark.django_db
def test_an_owed_mail_is_delivered_once_after_commit(confirmed, event, settings):
    settings.EMAIL_BACKEND = 'django.core.mail.backends.dummy.EmailBackend'
    grants = confirmed(3)
    with in_task(event), committed():
        issuance.issue_vouchers(event, [g.pk for g in grants])
    for g in grants:
        with scopes_disabled():
            record = GrantMail.objects.get(grant=g, kind=GrantMail.KIND_VOUCHER)
            assert not record.pending
            assert record.outgoing_mail.to == [g.email]
            assert Grant.objects.get(pk=g.pk).voucher.code in record.outgoing_mail.body_plain
        with in_task(event):  # a second delivery (a retried task) does nothing
            assert mails.deliver_owed([record.pk]) == []
    with scopes_disabled():
        assert OutgoingMail.objects.filter(event=event).count() == 3
    assert tasks.requeue_owed_mails() == 0  # as cron runs it: no scope


@pytest.mark.django_db
def test_a_lost_owed_mail_is_queued_again_and_a_released_voucher_owes_none(confirmed, event, settings):
    settings.EMAIL_BACKEND = 'django.core.mail.backends.dummy.EmailBackend'
    kept, refused = grants = confirmed(2)
    with in_task(event):
        issuance.issue_vouchers(event, [g.pk for g in grants])  # never committed here: the task is lost
    with scopes_disabled():
        assert GrantMail.objects.filter(pending=True).count() == 2
        refused_now = Grant.objects.get(pk=refused.pk)
    with in_task(event):  # as the control panel runs it
        workflow.refuse(refused_now, actor=workflow.ORGANIZER)
    with scopes_disabled():
        GrantMail.objects.update(created=now() - timedelta(hours=1))

    assert tasks.requeue_owed_mails() == 2  # as cron runs it: no scope
    with scopes_disabled():
        assert not GrantMail.objects.filter(pending=True).exists()
        assert GrantMail.objects.get(grant=kept, kind=GrantMail.KIND_VOUCHER).outgoing_mail.to == [kept.email]
        assert not GrantMail.objects.filter(grant=refused, kind=GrantMail.KIND_VOUCHER).exists()
        assert not OutgoingMail.objects.filter(to=[refused.email]).exists()


@pytest.mark.django_db
def test_the_control_panels_bulk_issue_runs_in_batches(confirmed, make_grant, event, quota, monkeypatch):
    from pretix_grants.control import bulk

    monkeypatch.setattr(bulk, 'ISSUE_BATCH', 3)
    with scopes_disabled():
        quota.size = 6
        quota.save()
    grants = confirmed(7)
    pending = make_grant(Grant.STATUS_PENDING)
    ids = [g.pk for g in grants] + [pending.pk]
    with in_task(event):
        rows = {r['grant']: (r['result'], r['message']) for r in bulk.run_bulk(event, 'issue', ids)}

    assert [rows[g.pk][0] for g in grants] == ['done'] * 6 + ['failed']
    assert 'quota' in rows[grants[-1].pk][1]
    assert rows[pending.pk] == ('skipped', 'Only a confirmed grant gets a voucher.')
    assert sum(len(mails_to(g.email)) for g in grants) == 6

    with in_task(event):
        rows = {r['grant']: r['result'] for r in bulk.run_bulk(event, 'issue', ids)}
    assert [rows[g.pk] for g in grants] == ['skipped'] * 6 + ['failed']
    with scopes_disabled():
        assert event.vouchers.count() == 6
    assert sum(len(mails_to(g.email)) for g in grants) == 6


@pytest.mark.django_db
def test_a_batch_that_fails_as_a_whole_is_run_one_grant_at_a_time(confirmed, event, monkeypatch):
    from pretix_grants.control import bulk

    def broken(*args, **kwargs):
        raise RuntimeError('database hiccup')

    monkeypatch.setattr(issuance, 'issue_vouchers', broken)
    grants = confirmed(3)
    with in_task(event):
        rows = bulk.run_bulk(event, 'issue', [g.pk for g in grants])
    assert [r['result'] for r in rows] == ['done'] * 3
    assert all(len(mails_to(g.email)) == 1 for g in grants)


@pytest.mark.django_db
def test_the_issuing_process_can_deliver_owed_mails_itself(confirmed, event, settings):
    settings.EMAIL_BACKEND = 'django.core.mail.backends.dummy.EmailBackend'
    grants = confirmed(3)
    ids = [g.pk for g in grants]
    with in_task(event):
        issuance.issue_vouchers(event, ids)  # the queued tasks never run here
        assert mails.deliver_pending(ids) == 3
        assert mails.deliver_pending(ids) == 0
    with scopes_disabled():
        assert OutgoingMail.objects.filter(event=event).count() == 3
        assert not GrantMail.objects.filter(pending=True).exists()


@pytest.mark.django_db
def test_owed_mails_are_delivered_with_a_fixed_number_of_queries_besides_pretixs_own(
        confirmed, event, settings, _settings_cached):  # NOQA: F811
    settings.EMAIL_BACKEND = 'django.core.mail.backends.dummy.EmailBackend'

    def count(n):
        grants = confirmed(n)
        with in_task(event):
            issuance.issue_vouchers(event, [g.pk for g in grants])  # the queued tasks never run here
        with scopes_disabled():
            ids = list(GrantMail.objects.filter(grant__in=grants, pending=True).values_list('pk', flat=True))
        _settings_cached()
        with in_task(event), CaptureQueriesContext(connection) as ctx:
            assert len(mails.deliver_owed(ids)) == n
        return len(ctx.captured_queries), ctx.captured_queries

    count(1)  # warm
    small, _ = count(2)
    large, queries = count(12)
    per_mail = [q['sql'] for q in queries if 'pretixbase_outgoingmail' in q['sql'] and q['sql'].startswith('INSERT')]
    print(f'\nqueries delivering 2 owed mails: {small}, 12: {large}')
    # pretix's mail() writes one OutgoingMail per mail; everything else is once per delivery
    assert len(per_mail) == 12
    assert large - small == 10


@pytest.mark.django_db
def test_one_broken_owed_mail_does_not_hold_back_the_others(confirmed, event, settings, monkeypatch):
    settings.EMAIL_BACKEND = 'django.core.mail.backends.dummy.EmailBackend'
    first, broken, last = grants = confirmed(3)
    with in_task(event):
        issuance.issue_vouchers(event, [g.pk for g in grants])
    with scopes_disabled():
        ids = list(GrantMail.objects.filter(grant__in=grants, pending=True).order_by('pk')
                   .values_list('pk', flat=True))
    original = mails.Mailer.mail

    def mail(self, grant):
        if grant.pk == broken.pk:
            raise ValueError('this template cannot be rendered')
        return original(self, grant)

    monkeypatch.setattr(mails.Mailer, 'mail', mail)
    with in_task(event), pytest.raises(ValueError):
        mails.deliver_owed(ids)

    with scopes_disabled():
        sent_to = [m.to for m in OutgoingMail.objects.filter(event=event).order_by('pk')]
        assert sent_to == [[first.email], [last.email]]
        assert GrantMail.objects.get(grant=broken, kind=GrantMail.KIND_VOUCHER).pending  # still owed, sent later
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.mail.sent').count() == 2
    monkeypatch.setattr(mails.Mailer, 'mail', original)
    with in_task(event):
        assert [r.grant_id for r in mails.deliver_owed(ids)] == [broken.pk]
    with scopes_disabled():
        assert OutgoingMail.objects.filter(event=event).count() == 3
