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

from . import letters
from .models import (
    Claim, ClaimItem, Grant, GrantMail, LetterRequest, PayoutBatch, Receipt,
)

SHREDDED = '█'
STATUS_TYPES = [f'pretix_grants.grant.{status}' for status, label in Grant.STATUS_CHOICES]
# the keys of the plugin's log entries that may hold personal data, by action type
LOG_PII = {
    'pretix_grants.grant.changed': ['name', 'email', 'internal_note'],
    'pretix_grants.grant.deleted': ['name', 'email'],
    'pretix_grants.grant.mail.sent': ['subject'],
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
    description = _('This will remove the names, email addresses and internal notes of all grantees, the reasons '
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

    def shred_data(self, progress_callback=None):
        grants = list(self._grants().select_related('voucher'))
        with transaction.atomic():
            self._shred_vouchers(grants)
            self._delete_mails(grants)
            for g in grants:
                g.name, g.email, g.internal_note = SHREDDED, placeholder_email(g), ''
            Grant.objects.bulk_update(grants, ['name', 'email', 'internal_note'], batch_size=500)
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


class LetterShredder(BaseDataShredder):
    """Visa invitation letters (letters.py): the passport data and the issued PDFs go; the requests' states stay."""
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
            letters.shred(letter_requests)
            for le in self.event.logentry_set.filter(action_type__startswith='pretix_grants.letter.').exclude(data=''):
                shred_log_fields(le, banlist=['reason'])
        if progress_callback:
            progress_callback(100)


# Reimbursement claims (claims.py): the receipts (files on storage) and the payout details go; the claims stay with
# their states and amounts, so the programme's accounts still add up.
CLAIM_LOG_PII = {f'pretix_grants.claim.{s}': ['message'] for s in ('approved', 'changes_requested', 'rejected')}


class ClaimShredder(BaseDataShredder):
    verbose_name = _('Grant reimbursement claims')
    identifier = 'pretix_grants_claims'
    description = _('This will delete the receipts of all reimbursement claims from the storage and remove the '
                    'account holders, IBANs, BICs and other payout details, and the organizers\' messages to the '
                    'grantees. Claims, their states and amounts are kept.')

    def _claims(self):
        return Claim.objects.filter(grant__event=self.event)

    def generate_files(self):
        yield 'grant_claims.json', 'application/json', json.dumps([
            {'id': c.pk, 'grant': c.grant_id, 'state': c.state, 'payout_method': c.payout_method,
             'account_holder': c.account_holder, 'iban': c.iban, 'bic': c.bic, 'payout_other': c.payout_other,
             'message': c.message,
             'items': [{'category': i.category, 'amount': str(i.amount), 'description': i.description,
                        'receipts': [r.original_name for r in i.receipts.all()]} for i in c.items.all()]}
            for c in self._claims().prefetch_related('items__receipts').order_by('pk')
        ], indent=4)

    def shred_data(self, progress_callback=None):
        receipts = list(Receipt.objects.filter(item__claim__grant__event=self.event))
        with transaction.atomic():
            Receipt.objects.filter(pk__in=[r.pk for r in receipts]).delete()
            self._claims().update(account_holder='', iban='', bic='', payout_other='', message='')
            ClaimItem.objects.filter(claim__grant__event=self.event).update(description='')
            # the payout files hold the account details too; the batches keep their claims and totals
            PayoutBatch.objects.filter(event=self.event).update(content=b'')
            for le in self.event.logentry_set.filter(action_type__in=CLAIM_LOG_PII).exclude(data=''):
                shred_log_fields(le, banlist=CLAIM_LOG_PII[le.action_type])
        # the files go after the rows' deletion commits, each on its own (files.py, through the rows' post_delete)
        if progress_callback:
            progress_callback(100)
