from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.db import IntegrityError, transaction
from django.utils.timezone import now
from django_scopes import scopes_disabled
from freezegun import freeze_time
from pretix.base.models import LogEntry

from pretix_grants import workflow
from pretix_grants.hooks import grant_status_changed
from pretix_grants.models import Grant
from pretix_grants.workflow import (
    GRANTEE, ORGANIZER, SYSTEM, TRANSITIONS, GrantTransitionError,
    ReplyDeadlinePassed,
)

from .conftest import event_scope

ALL_STATUSES = [s for s, _ in Grant.STATUS_CHOICES]
ACTORS = [ORGANIZER, GRANTEE, SYSTEM]


def snapshot(grant):
    grant.refresh_from_db()
    return (grant.status, grant.decision, grant.reply_deadline, grant.voucher_id, grant.voucher_state, grant.modified)


@pytest.mark.django_db
@pytest.mark.parametrize('old,new', sorted(TRANSITIONS))
def test_every_allowed_transition_works(old, new, make_grant, grant_settings):
    grant = make_grant(old)
    actor = sorted(TRANSITIONS[(old, new)])[0]
    with event_scope(grant.event):
        workflow.change_status(grant, new, actor=actor)
    grant.refresh_from_db()
    assert grant.status == new
    entry = LogEntry.objects.get(action_type=f'pretix_grants.grant.{new}', object_id=grant.pk)
    assert entry.parsed_data == {'old_status': old, 'new_status': new, 'actor': actor}


ILLEGAL = [
    (old, new, actor)
    for old in ALL_STATUSES for new in ALL_STATUSES for actor in ACTORS
    if actor not in TRANSITIONS.get((old, new), ())
]


@pytest.mark.django_db
@pytest.mark.parametrize('old,new,actor', ILLEGAL)
def test_every_illegal_transition_is_refused_and_changes_nothing(old, new, actor, make_grant, grant_settings):
    grant = make_grant(old)
    before = snapshot(grant)
    with event_scope(grant.event), pytest.raises(GrantTransitionError) as e:
        workflow.change_status(grant, new, actor=actor)
    assert snapshot(grant) == before
    assert not LogEntry.objects.filter(object_id=grant.pk, action_type__startswith='pretix_grants.').exists()
    assert djmail.outbox == []
    assert str(e.value)


@pytest.mark.django_db
def test_rejected_grant_cannot_be_confirmed_with_a_readable_message(make_grant, grant_settings):
    grant = make_grant(Grant.STATUS_REJECTED)
    with event_scope(grant.event), pytest.raises(GrantTransitionError) as e:
        workflow.confirm(grant)
    assert str(e.value) == 'A grant that is "rejected" cannot become "confirmed" (grantee).'
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_REJECTED
    assert grant.voucher is None


@pytest.mark.django_db
@pytest.mark.parametrize('status', [Grant.STATUS_PENDING, Grant.STATUS_WAITING_LIST])
def test_grantee_cannot_confirm_before_an_offer(status, make_grant, grant_settings):
    grant = make_grant(status)
    with event_scope(grant.event), pytest.raises(GrantTransitionError):
        workflow.confirm(grant, actor=GRANTEE)
    grant.refresh_from_db()
    assert grant.status == status
    with scopes_disabled():
        assert not grant.event.vouchers.exists()


@pytest.mark.django_db
def test_confirming_after_the_deadline_is_refused(make_grant, grant_settings):
    deadline = now() + timedelta(days=3)
    grant = make_grant(Grant.STATUS_APPROVED, reply_deadline=deadline)
    with freeze_time(deadline + timedelta(seconds=1)), event_scope(grant.event):
        with pytest.raises(ReplyDeadlinePassed) as e:
            workflow.confirm(grant, actor=GRANTEE)
        assert 'deadline' in str(e.value)
        with pytest.raises(ReplyDeadlinePassed):
            workflow.refuse(grant, actor=GRANTEE)
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_APPROVED
    with scopes_disabled():
        assert not grant.event.vouchers.exists()


@pytest.mark.django_db
def test_confirming_just_before_the_deadline_works(make_grant, grant_settings):
    deadline = now() + timedelta(days=3)
    grant = make_grant(Grant.STATUS_APPROVED, reply_deadline=deadline)
    with freeze_time(deadline - timedelta(seconds=1)), event_scope(grant.event):
        workflow.confirm(grant, actor=GRANTEE)
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED


@pytest.mark.django_db
def test_confirmed_grantee_may_still_withdraw(make_grant, grant_settings):
    grant = make_grant(Grant.STATUS_APPROVED)
    with event_scope(grant.event):  # as the reply page does
        workflow.confirm(grant)
        workflow.refuse(grant, actor=GRANTEE, reason='Cannot travel after all')
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_REFUSED
    entry = LogEntry.objects.get(action_type='pretix_grants.grant.refused', object_id=grant.pk)
    assert entry.parsed_data['reason'] == 'Cannot travel after all'
    assert entry.parsed_data['old_status'] == Grant.STATUS_CONFIRMED


@pytest.mark.django_db
def test_staged_decision_is_invisible_until_published(make_grant, grant_settings, user):
    grant = make_grant(Grant.STATUS_PENDING, email='grace@example.org')
    with event_scope(grant.event):
        workflow.stage_decision(grant, Grant.STATUS_APPROVED, user=user)
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_PENDING
    assert grant.decision == Grant.STATUS_APPROVED
    assert djmail.outbox == []

    with freeze_time(now()):
        with event_scope(grant.event):
            workflow.publish(grant, user=user)
        grant.refresh_from_db()
        assert grant.status == Grant.STATUS_APPROVED
        assert grant.decision is None
        assert grant.reply_deadline == now() + timedelta(days=14)
    assert [m.to for m in djmail.outbox] == [['grace@example.org']]
    assert grant.secret in djmail.outbox[0].body
    entry = LogEntry.objects.get(action_type='pretix_grants.grant.approved', object_id=grant.pk)
    assert entry.user == user


@pytest.mark.django_db
def test_staging_an_impossible_decision_is_refused(make_grant, grant_settings):
    grant = make_grant(Grant.STATUS_CONFIRMED)
    other = make_grant()
    with event_scope(grant.event):
        with pytest.raises(GrantTransitionError):
            workflow.stage_decision(grant, Grant.STATUS_REJECTED)
        with pytest.raises(GrantTransitionError):
            workflow.stage_decision(other, 'confirmed')
    grant.refresh_from_db()
    assert grant.decision is None


@pytest.mark.django_db
def test_publishing_without_a_staged_decision_is_refused(make_grant, grant_settings):
    grant = make_grant()
    with event_scope(grant.event), pytest.raises(GrantTransitionError) as e:
        workflow.publish(grant)
    assert 'no staged decision' in str(e.value)


@pytest.mark.django_db(transaction=True)
def test_status_change_signal_fires_after_commit(make_grant, grant_settings):
    grant = make_grant(Grant.STATUS_PENDING)
    received = []

    def listener(sender, grant, old_status, new_status, **kwargs):
        received.append((sender, grant.pk, old_status, new_status, transaction.get_connection().in_atomic_block))

    # pretix delivers plugin signals only to receivers of plugins active on the event: this one counts as ours.
    listener.__module__ = 'pretix_grants.tests'
    grant_status_changed.connect(listener, dispatch_uid='test_listener')
    try:
        with event_scope(grant.event):
            workflow.change_status(grant, Grant.STATUS_WAITING_LIST, actor=ORGANIZER)
            with pytest.raises(GrantTransitionError):
                workflow.change_status(grant, Grant.STATUS_CONFIRMED, actor=GRANTEE)
    finally:
        grant_status_changed.disconnect(dispatch_uid='test_listener')
    assert received == [(grant.event, grant.pk, Grant.STATUS_PENDING, Grant.STATUS_WAITING_LIST, False)]


@pytest.mark.django_db
def test_one_grant_per_email_and_event(make_grant, event):
    make_grant(email='same@example.org')
    with pytest.raises(IntegrityError), transaction.atomic():
        make_grant(email='SAME@example.org')


@pytest.mark.django_db
def test_secret_is_long_and_unique(make_grant):
    secrets = {make_grant().secret for _ in range(20)}
    assert len(secrets) == 20
    assert all(len(s) >= 43 for s in secrets)  # 256 bits in URL-safe base64


@pytest.mark.django_db
def test_log_entries_read_well_in_pretix(make_grant, grant_settings, user):
    grant = make_grant(Grant.STATUS_PENDING)
    with event_scope(grant.event):
        workflow.stage_decision(grant, Grant.STATUS_APPROVED, user=user)
        workflow.publish(grant, user=user)
        workflow.confirm(grant)
    texts = [str(e.display()) for e in LogEntry.objects.filter(object_id=grant.pk, action_type__startswith='pretix_grants')]
    assert 'A decision has been staged: approved.' in texts
    assert 'The grant has been approved and offered to the grantee.' in texts
    assert 'The grant has been confirmed (grantee).' in texts
    assert 'An email has been sent: Your grant for PyConf 2027: please confirm' in texts
