"""The letters' part of pretix's data shredder."""
import json

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from pretix.base.models import OutgoingMail
from pretix.base.shredder import BaseDataShredder, shred_log_fields

from ..models import LetterRequest
from . import rules as letters


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

    def shred_data(self, progress_callback=None):
        with transaction.atomic():
            letter_requests = list(LetterRequest.objects.select_for_update().filter(event=self.event, shredded=False))
            self._delete_mails(letter_requests)
            letters.shred(letter_requests)
            for le in self.event.logentry_set.filter(action_type__startswith='pretix_grants.letter.').exclude(data=''):
                shred_log_fields(le, banlist=['reason'])
        if progress_callback:
            progress_callback(100)

    def _delete_mails(self, letter_requests):
        """pretix's record of the letters' mails (address, text): those the log names, and any to a requester."""
        ids = {le.parsed_data.get('outgoing_mail') for le in self.event.logentry_set.filter(
            action_type='pretix_grants.letter.mail.sent').exclude(data='')}
        addresses = {r.email.lower() for r in letter_requests if r.email}
        ids |= {pk for pk, to in OutgoingMail.objects.filter(event=self.event, order__isnull=True).values_list('pk', 'to')
                if any(str(a).lower() in addresses for a in to or [])}
        ids.discard(None)
        OutgoingMail.objects.filter(event=self.event, pk__in=ids).delete()
