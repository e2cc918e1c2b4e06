"""
A queued mail's attachment outlives the mail: withdrawing or correcting a letter never removes the PDF a mail
pretix has not sent yet still attaches; the periodic job removes it once the mail is sent or given up.
"""
import pytest
from django.core import mail as djmail
from django.core.cache import cache
from django.core.files.storage import default_storage
from django_scopes import scope, scopes_disabled
from pretix.base.models import OutgoingMail
from pretix.base.services.mail import mail_send_task
from pretix.base.signals import periodic_task

from pretix_grants.letters import rules as letters
from pretix_grants.models import KeptLetterFile

from ..conftest import committed

pytestmark = pytest.mark.django_db


def cron():
    cache.clear()
    with committed():
        results = periodic_task.send_robust(sender=None)
    assert [v for r, v in results if r.__module__.startswith('pretix_grants') and isinstance(v, Exception)] == []


@pytest.fixture
def issued(requested_letter, letter_event):
    """An issued letter whose approval mail is still queued in pretix (no worker has taken it yet)."""
    with scope(organizer=letter_event.organizer):  # as the organizer's page runs it
        letter = letters.approve(requested_letter)
    with scopes_disabled():
        approval = OutgoingMail.objects.filter(should_attach_other_files=[letter.pdf]).get()
        # the row as it stands while the mail waits for a worker (tasks run inline here)
        OutgoingMail.objects.filter(pk=approval.pk).update(status=OutgoingMail.STATUS_QUEUED, sent=None)
        approval.refresh_from_db()
    return letter, approval


def send(outgoing):
    """pretix's worker gets to the mail at last."""
    djmail.outbox = []
    mail_send_task.apply(kwargs={'outgoing_mail': outgoing.pk})
    with scopes_disabled():
        outgoing.refresh_from_db()
    assert outgoing.status == OutgoingMail.STATUS_SENT
    [m] = djmail.outbox
    return m


def test_withdrawing_a_letter_keeps_the_pdf_its_queued_mail_attaches_until_it_is_sent(issued, letter_event):
    letter, approval = issued
    pdf = letter.pdf
    with scope(organizer=letter_event.organizer):
        letters.withdraw(letter, 'Issued by mistake.', notify=False)
    assert default_storage.exists(pdf)
    cron()
    assert default_storage.exists(pdf)  # the mail is still queued

    m = send(approval)
    assert [name for name, content, mimetype in m.attachments] == [letters.filename(letter)]
    assert m.attachments[0][1][:5] == b'%PDF-'
    cron()
    assert not default_storage.exists(pdf)
    assert not KeptLetterFile.objects.exists()


def test_correcting_a_letter_keeps_the_old_pdf_for_the_queued_mail_and_the_new_one_for_its_new_mail(
        issued, letter_event):
    letter, approval = issued
    old = letter.pdf
    with scope(organizer=letter_event.organizer):
        letter = letters.correct(letter, {'address': 'Another Street 2\n12345 City'})
    assert letter.pdf != old and default_storage.exists(old) and default_storage.exists(letter.pdf)

    send(approval)
    cron()
    assert not default_storage.exists(old) and default_storage.exists(letter.pdf)


def test_a_letter_without_a_waiting_mail_loses_its_pdf_at_once(issued, letter_event):
    letter, approval = issued
    send(approval)
    with scope(organizer=letter_event.organizer):
        letters.withdraw(letter, notify=False)
    assert not default_storage.exists(approval.should_attach_other_files[0])
