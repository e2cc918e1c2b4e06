from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time
from pretix.base.models import LogEntry

from pretix_grants import lifecycle, workflow
from pretix_grants.models import Grant, GrantMail

from ..conftest import mails_to
from ..test_query_counts import settings_cached  # noqa: F401 - fixture
from .helpers import cron


@pytest.fixture
def deadline():
    return (lifecycle.now() + timedelta(days=5)).replace(microsecond=0)


@scopes_disabled()
def due_at(grant, deadline):
    grant.reply_deadline = deadline
    grant.save()


@scopes_disabled()
def refreshed(*grants):
    for g in grants:
        g.refresh_from_db()


@pytest.mark.django_db
def test_offer_expires_only_after_its_deadline_with_one_mail(approved_grant, deadline):
    due_at(approved_grant, deadline)

    # lifecycle.expire_offers with no scope, as pretix's periodic task runs it
    with freeze_time(deadline - timedelta(seconds=1)):
        assert lifecycle.expire_offers() == 0
    with freeze_time(deadline):
        assert lifecycle.expire_offers() == 0  # the grantee may still reply at the deadline itself
    refreshed(approved_grant)
    assert approved_grant.status == Grant.STATUS_APPROVED
    assert djmail.outbox == []

    with freeze_time(deadline + timedelta(seconds=1)):
        assert lifecycle.expire_offers() == 1
    refreshed(approved_grant)
    assert approved_grant.status == Grant.STATUS_EXPIRED
    [m] = mails_to('ada@example.org')
    assert m.subject == 'Your grant offer for PyConf 2027 has expired'
    assert 'Hello Ada Lovelace' in m.body
    assert 'the offer has\nnow expired' in m.body
    with scopes_disabled():
        assert approved_grant.mails.get().kind == GrantMail.KIND_EXPIRED
        log = LogEntry.objects.get(action_type='pretix_grants.grant.expired', object_id=approved_grant.pk)
    assert log.parsed_data['actor'] == workflow.SYSTEM


@pytest.mark.django_db
def test_running_expiry_twice_changes_nothing_more(approved_grant, make_grant, deadline):
    due_at(approved_grant, deadline)
    later = make_grant(Grant.STATUS_APPROVED, reply_deadline=deadline + timedelta(days=1))
    answered = make_grant(Grant.STATUS_CONFIRMED, reply_deadline=deadline - timedelta(days=1))

    with freeze_time(deadline + timedelta(hours=1)):
        assert lifecycle.expire_offers() == 1
        cron()  # pretix's periodic task: the same work once more, with every other receiver
        assert lifecycle.expire_offers() == 0

    # one expiry mail; the rest is cron's other work (the later offer's reminder, the confirmed grant's voucher)
    assert [m.to for m in djmail.outbox if m.subject.endswith('has expired')] == [['ada@example.org']]
    with scopes_disabled():
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.expired').count() == 1
    refreshed(later, answered)
    assert later.status == Grant.STATUS_APPROVED
    assert answered.status == Grant.STATUS_CONFIRMED


@pytest.mark.django_db
def test_grantee_cannot_confirm_after_expiry_but_organizer_can_offer_again(approved_grant, deadline):
    due_at(approved_grant, deadline)
    with freeze_time(deadline + timedelta(seconds=1)):
        lifecycle.expire_offers()
        with scopes_disabled():
            expired = Grant.objects.get(pk=approved_grant.pk)
        with scope(organizer=approved_grant.event.organizer):  # the reply page, then the control panel
            with pytest.raises(workflow.GrantTransitionError):
                workflow.confirm(expired)
            again = workflow.change_status(approved_grant, Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)
    assert again.reply_deadline > deadline
    assert again.offered_at == deadline + timedelta(seconds=1)


@pytest.mark.django_db
def test_expiry_leaves_events_without_the_plugin_alone(approved_grant, event, deadline):
    due_at(approved_grant, deadline)
    with scopes_disabled():
        event.plugins = ''
        event.save()
    with freeze_time(deadline + timedelta(days=1)):
        assert lifecycle.expire_offers() == 0
    refreshed(approved_grant)
    assert approved_grant.status == Grant.STATUS_APPROVED


@pytest.mark.django_db
def test_expiry_costs_a_fixed_number_of_queries_per_grant(make_grant, grant_settings, deadline,
                                                          settings_cached):  # noqa: F811 - the fixture
    def expire_counting(n):
        for i in range(n):
            make_grant(Grant.STATUS_APPROVED, reply_deadline=deadline)
        with freeze_time(deadline + timedelta(seconds=1)), CaptureQueriesContext(connection) as ctx:
            assert lifecycle.expire_offers() == n
        return len(ctx.captured_queries)

    settings_cached()
    expire_counting(2)  # fills the caches a running pretix has warm
    ten, twenty = expire_counting(10), expire_counting(20)
    per_grant = (twenty - ten) / 10
    print(f'\nqueries to expire 10 offers: {ten}, 20 offers: {twenty}')
    # one query finds them all; each then costs its transaction, lock, update, log, mail and mail record
    assert twenty - 20 * per_grant <= 5
    assert per_grant <= 25
