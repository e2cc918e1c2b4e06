"""The letters' part of pretix's data shredder."""
import json
import logging

from django.db import transaction
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from pretix.base.models import Event, OutgoingMail
from pretix.base.shredder import BaseDataShredder, shred_log_fields

from .. import retention
from ..base.guard import never_breaks_the_shredder
from ..models import LetterRequest
from . import rules as letters

logger = logging.getLogger(__name__)

ERASED = 'pretix_grants.letter.retention_erased'


class LetterShredder(BaseDataShredder):
    """Visa invitation letters (letters/rules.py): the passport data and the issued PDFs go; the requests' states stay."""
    verbose_name = _('Visa invitation letters')
    identifier = 'pretix_grants_letters'
    description = _('This will remove the passport data (name, nationality, passport number and expiry, date of '
                    'birth, address, consulate) of all requests for invitation letters and the letters\' PDF files. '
                    'Their verification pages will no longer show a name.')

    def generate_files(self):
        yield 'letters.json', 'application/json', json.dumps([
            {'reference': r.reference, 'status': r.status, 'email': r.email, 'full_name': r.full_name,
             'nationality': r.nationality.code if r.nationality else None, 'passport_number': r.passport_number,
             'passport_expiry': r.passport_expiry.isoformat() if r.passport_expiry else None,
             'date_of_birth': r.date_of_birth.isoformat() if r.date_of_birth else None, 'address': r.address,
             'consulate': r.consulate}
            for r in LetterRequest.objects.filter(event=self.event, shredded=False).order_by('pk')
        ], indent=4)

    @never_breaks_the_shredder
    def shred_data(self, progress_callback=None):
        erase(self.event)
        if progress_callback:
            progress_callback(100)


def erase(event):
    """
    The passport data and PDFs of every letter request of ``event``, pretix's record of the letters' mails and the
    reasons in the letters' log entries: the shredder's and the retention job's one erasure. Returns how many
    requests it erased.
    """
    with transaction.atomic():
        letter_requests = list(LetterRequest.objects.select_for_update().filter(event=event, shredded=False))
        _delete_mails(event, letter_requests)
        letters.shred(letter_requests)
        for le in event.logentry_set.filter(action_type__startswith='pretix_grants.letter.').exclude(data=''):
            shred_log_fields(le, banlist=['reason'])
    return len(letter_requests)


def _delete_mails(event, letter_requests):
    """pretix's record of the letters' mails (address, text): those the log names, and any to a requester."""
    ids = {le.parsed_data.get('outgoing_mail') for le in event.logentry_set.filter(
        action_type='pretix_grants.letter.mail.sent').exclude(data='')}
    addresses = {r.email.lower() for r in letter_requests if r.email}
    ids |= {pk for pk, to in OutgoingMail.objects.filter(event=event, order__isnull=True).values_list('pk', 'to')
            if any(str(a).lower() in addresses for a in to or [])}
    ids.discard(None)
    OutgoingMail.objects.filter(event=event, pk__in=ids).delete()


def erase_due(at=None):
    """
    Retention (retention.py), from pretix's periodic task and across all organizers: the letters of each event
    that ended ``grants_retention_days`` ago, through the shredder's erasure. Logs the count on the event. Returns
    the number of letter requests erased.
    """
    at = at or now()
    erased = 0
    with scopes_disabled():
        for event in Event.objects.filter(letter_requests__shredded=False).distinct():
            try:
                if retention.due(event, retention.event_end(event), at):
                    n = erase(event)
                    if n:
                        event.log_action(ERASED, data={'letters': n})
                        erased += n
            except Exception:
                # one event's failure never keeps the others' data: this one is tried again on the next run
                logger.exception('Erasing the letters of event %s at the end of retention failed', event.pk)
    return erased
