"""
The grants' part of pretix's data shredder: after an event, remove what identifies the grantees.

Grants stay, with their status, amounts, vouchers and history, so the programme's numbers still add up: only
names, email addresses, internal notes, the organizers' free-text reasons and the mails' subjects go, from the
grants, their log entries and the comments of the vouchers they got. The mails the plugin sent (pretix's
``OutgoingMail``, which holds address and text) are deleted; the grant keeps the record that a mail was sent.
"""
import json
import re

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pretix.base.models import OutgoingMail, Voucher
from pretix.base.shredder import BaseDataShredder, shred_log_fields

from .base.guard import never_breaks_the_shredder
from .models import Grant, GrantMail, Review

SHREDDED = '█'
STATUS_TYPES = [f'pretix_grants.grant.{status}' for status, label in Grant.STATUS_CHOICES]
# the keys of the plugin's log entries that may hold personal data, by action type
LOG_PII = {
    'pretix_grants.grant.changed': ['name', 'email', 'internal_note', 'motivation', 'justification', 'answers'],
    'pretix_grants.grant.deleted': ['name', 'email'],
    'pretix_grants.grant.mail.sent': ['subject'],
    # the mail sweeper's entries (mails.RESENT, mails.RESENT_MAYBE_TWICE) name the mail's subject too
    'pretix_grants.grant.mail.resent': ['subject'],
    'pretix_grants.grant.mail.resent_maybe_twice': ['subject'],
    'pretix_grants.grant.place_refilled': ['name'],
    **{t: ['reason'] for t in STATUS_TYPES},
}


def placeholder_email(grant):
    """Unique per grant (one grant per address and event still holds) and undeliverable (RFC 2606)."""
    return f'grant-{grant.pk}@shredded.invalid'


def _without(text, needles):
    for needle in needles:
        if needle:
            text = re.sub(re.escape(needle), SHREDDED, text, flags=re.IGNORECASE)
    return text


class GrantShredder(BaseDataShredder):
    verbose_name = _('Grants')
    identifier = 'pretix_grants'
    description = _('This will remove the names, email addresses, internal notes, motivations, justifications and '
                    'answers of all grantees, the reviewers\' notes, the reasons '
                    'given for their status changes and the emails sent to them, also from the grants\' history and '
                    'from the comments of their vouchers. Grants, their status, amounts and vouchers are kept.')

    def _grants(self):
        return Grant.objects.filter(event=self.event)

    def generate_files(self):
        yield 'grants.json', 'application/json', json.dumps([
            {'id': g.pk, 'name': g.name, 'email': g.email, 'locale': g.locale, 'status': g.status,
             'internal_note': g.internal_note, 'voucher': g.voucher.code if g.voucher else None}
            for g in self._grants().select_related('voucher').order_by('pk')
        ], indent=4)

    @never_breaks_the_shredder
    def shred_data(self, progress_callback=None):
        grants = list(self._grants().select_related('voucher'))
        with transaction.atomic():
            self._shred_vouchers(grants)
            self._delete_mails(grants)
            for g in grants:
                g.name, g.email, g.internal_note = SHREDDED, placeholder_email(g), ''
                # what the applicant wrote about themselves, and the reviewers' notes on it
                g.motivation, g.justification, g.answers = '', '', {}
            Grant.objects.bulk_update(grants, ['name', 'email', 'internal_note', 'motivation', 'justification',
                                               'answers'], batch_size=500)
            Review.objects.filter(grant__event=self.event).update(note='')
            for le in self.event.logentry_set.filter(action_type__in=LOG_PII).exclude(data=''):
                shred_log_fields(le, banlist=LOG_PII[le.action_type])
        if progress_callback:
            progress_callback(100)

    def _delete_mails(self, grants):
        """The plugin's mails, and any other mail of the event to a grantee (also of a deleted grant)."""
        addresses = {g.email.lower() for g in grants}
        for le in self.event.logentry_set.filter(action_type='pretix_grants.grant.deleted').exclude(data=''):
            addresses.add(str(le.parsed_data.get('email') or '').lower())
        addresses.discard('')
        to_grantees = [
            pk for pk, to in OutgoingMail.objects.filter(event=self.event, order__isnull=True).values_list('pk', 'to')
            if any(str(a).lower() in addresses for a in to or [])
        ]
        OutgoingMail.objects.filter(
            Q(pk__in=to_grantees)
            | Q(pk__in=GrantMail.objects.filter(grant__event=self.event, outgoing_mail__isnull=False)
                .values('outgoing_mail'))
        ).delete()

    def _shred_vouchers(self, grants):
        """The grantee's name and address in the comments of their vouchers ("Grant for NAME <EMAIL>")."""
        needles = {g.pk: sorted({g.name, g.email} - {SHREDDED}, key=len, reverse=True) for g in grants}
        by_voucher = {g.voucher_id: g.pk for g in grants if g.voucher_id}
        emails = {g.email.lower(): g.pk for g in grants}
        for v in Voucher.objects.filter(event=self.event).exclude(comment=''):
            owners = {by_voucher[v.pk]} if v.pk in by_voucher else set()
            owners |= {pk for email, pk in emails.items() if email in v.comment.lower()}
            comment = v.comment
            for pk in owners:
                comment = _without(comment, needles[pk])
            if comment != v.comment:
                v.comment = comment
                v.save(update_fields=['comment'])
