from datetime import timedelta

import pytest
from django.core import mail as djmail
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from pretix_grants import lifecycle, workflow
from pretix_grants.models import Grant, GrantMail

from ..conftest import mails_to
from .helpers import cron

# lifecycle.send_reminders and expire_offers are called with no scope, as pretix's periodic task runs them


def organizers_page(event):
    """The plugin's code as the control panel or the reply page runs it: in the organizer's scope."""
    return scope(organizer=event.organizer)


def offered(event, **fields):
    """A grant the organizer offers from the waiting list."""
    with scopes_disabled():
        grant = Grant.objects.create(event=event, status=Grant.STATUS_WAITING_LIST, **fields)
    with organizers_page(event):
        return workflow.change_status(grant, Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)


@pytest.fixture
def offer(make_grant, grant_settings, event):
    """An offer published today with the default 14 days to reply; reminders 3 days before the deadline."""
    grant = make_grant(Grant.STATUS_WAITING_LIST, name='Ada Lovelace', email='ada@example.org')
    with organizers_page(event):
        grant = workflow.change_status(grant, Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)
    djmail.outbox = []
    return grant


def reminders_to(address):
    return [m for m in mails_to(address) if m.subject.startswith('Reminder')]


@pytest.mark.django_db
def test_one_reminder_at_the_configured_time(offer):
    remind_at = offer.reply_deadline - timedelta(days=3)

    with freeze_time(remind_at - timedelta(seconds=1)):
        assert lifecycle.send_reminders() == 0
    assert djmail.outbox == []

    with freeze_time(remind_at):
        assert lifecycle.send_reminders() == 1
    [m] = djmail.outbox
    assert m.to == ['ada@example.org']
    assert m.subject == 'Reminder: please reply to your grant offer for PyConf 2027'
    with scopes_disabled():
        assert offer.mails.filter(kind=GrantMail.KIND_REMINDER).count() == 1

    for later in (remind_at + timedelta(hours=1), remind_at + timedelta(days=2)):
        with freeze_time(later):
            assert lifecycle.send_reminders() == 0
            cron()  # pretix's periodic task, with the reminders' receiver
    assert len(djmail.outbox) == 1


@pytest.mark.django_db
def test_reminder_days_are_a_setting_and_zero_turns_them_off(offer, event):
    event.settings.grants_reminder_days = 7
    with freeze_time(offer.reply_deadline - timedelta(days=7, seconds=1)):
        assert lifecycle.send_reminders() == 0
    with freeze_time(offer.reply_deadline - timedelta(days=7)):
        assert lifecycle.send_reminders() == 1

    other = offered(event, email='bob@example.org', name='Bob')
    event.settings.grants_reminder_days = 0
    with freeze_time(other.reply_deadline - timedelta(hours=1)):
        assert lifecycle.send_reminders() == 0
    assert reminders_to('bob@example.org') == []


@pytest.mark.django_db
def test_no_reminder_after_an_answer(offer, make_grant, event):
    with organizers_page(event):
        refused = workflow.change_status(
            make_grant(Grant.STATUS_WAITING_LIST, email='refuses@example.org'), Grant.STATUS_APPROVED,
            actor=workflow.ORGANIZER,
        )
        workflow.confirm(offer)
        workflow.refuse(refused)
    djmail.outbox = []
    with freeze_time(offer.reply_deadline - timedelta(days=1)):
        assert lifecycle.send_reminders() == 0
    assert djmail.outbox == []


@pytest.mark.django_db
def test_a_new_offer_after_expiry_gets_its_own_reminder(offer, event):
    with freeze_time(offer.reply_deadline - timedelta(days=2)):
        assert lifecycle.send_reminders() == 1
    with freeze_time(offer.reply_deadline + timedelta(seconds=1)):
        assert lifecycle.expire_offers() == 1
    with scopes_disabled():
        expired = Grant.objects.get(pk=offer.pk)
    with freeze_time(offer.reply_deadline + timedelta(days=1)), organizers_page(event):
        again = workflow.change_status(expired, Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)
    with freeze_time(again.reply_deadline - timedelta(days=2)):
        assert lifecycle.send_reminders() == 1
        assert lifecycle.send_reminders() == 0
    assert len(reminders_to('ada@example.org')) == 2


@pytest.mark.django_db
def test_no_reminder_right_after_a_short_offer(offer, event):
    """An offer with less time to reply than the reminder period is not reminded within its first day."""
    event.settings.grants_reply_days = 2
    short = offered(event, email='short@example.org', name='Short')
    with freeze_time(short.offered_at + timedelta(hours=1)):
        lifecycle.send_reminders()
    assert reminders_to('short@example.org') == []
    with freeze_time(short.offered_at + timedelta(days=1, hours=1)):
        lifecycle.send_reminders()
    assert len(reminders_to('short@example.org')) == 1
