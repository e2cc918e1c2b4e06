"""The speakers' part of pretix's data shredder: the names and e-mail addresses the sync copied from pretalx."""
import json

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from pretix.base.shredder import BaseDataShredder

from ..base.guard import never_breaks_the_shredder
from ..models import Speaker


class SpeakerShredder(BaseDataShredder):
    verbose_name = _('Speakers from pretalx')
    identifier = 'pretix_grants_speakers'
    description = _('This will remove the names and e-mail addresses of the speakers copied from pretalx. Their '
                    'vouchers stay; the next sync copies what pretalx still has.')

    def generate_files(self):
        yield 'speakers.json', 'application/json', json.dumps([
            {'code': sp.code, 'name': sp.name, 'email': sp.email, 'role': sp.role, 'state': sp.state,
             'voucher': sp.voucher.code if sp.voucher else None}
            for sp in Speaker.objects.filter(event=self.event).select_related('voucher').order_by('pk')
        ], indent=4)

    @never_breaks_the_shredder
    def shred_data(self, progress_callback=None):
        with transaction.atomic():
            Speaker.objects.filter(event=self.event).update(name='', email='', talks=[])
        if progress_callback:
            progress_callback(100)
