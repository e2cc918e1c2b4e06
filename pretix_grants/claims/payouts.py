"""
Payout batches (the claims' payouts): every payout file the organizers download is a batch, as pretix's bank-transfer refund exports
are (``plugins/banktransfer``: the export is a row, its file can be downloaded again, what it contains is marked).

The rules, one home each:
- an approved claim is in at most one batch that is not cancelled, decided under the claims' row locks (and kept
  by a unique index on the live entries), so two managers exporting at the same moment get disjoint batches;
- a batch keeps its file: downloading it again gives the same bytes;
- "mark as paid" marks exactly the claims of a batch; cancelling a batch makes its claims payable again;
- a claim a SEPA file cannot carry (no bank account in the SEPA area, an account holder's name with nothing left
  once cleaned for the bank) is left out of the batch with the reason, never failing the file.

Log entries hold the claims' ids, the format and the total, never account details.
"""
import datetime
import re
from decimal import Decimal

from django.db import transaction
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from pretix.helpers import OF_SELF
from sepaxml import SepaTransfer

from ..models import Claim, PayoutBatch, PayoutEntry
from ..spreadsheets import CONTROL, csv_bytes, xlsx_bytes
from . import rules as claims

EXTENSIONS = {
    PayoutBatch.FORMAT_SEPA: ('xml', 'application/xml'),
    PayoutBatch.FORMAT_CSV: ('csv', 'text/csv'),
    PayoutBatch.FORMAT_XLSX: ('xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'),
}


class PayoutError(claims.ClaimError):
    """A batch cannot be made, paid or cancelled; nothing was changed."""


def sepa_problem(claim):
    """Why the SEPA file cannot carry ``claim``, or None."""
    if claim.payout_method != Claim.PAYOUT_BANK or not claim.iban:
        return _('It is to be paid otherwise than by bank transfer.')
    if claims.bic_needed(claim.iban):
        return _('The bank account is outside the SEPA area.')
    if not claims.sepa_name(claim.account_holder):
        return _('The account holder\'s name has no letters a SEPA file can carry.')
    if not claim.approved_amount or claim.approved_amount <= 0:
        return _('There is no amount to pay.')
    return None


def _sepa_file(event, chosen, execution_date):
    s = event.settings
    if event.currency != 'EUR':
        raise PayoutError(_('SEPA transfers are only possible in EUR.'))
    if not (s.grants_payout_account_holder and s.grants_payout_iban):
        raise PayoutError(_('Please enter your own account holder and IBAN in the claim settings first.'))
    config = {'name': s.grants_payout_account_holder, 'IBAN': claims.normalise_iban(s.grants_payout_iban),
              'batch': True, 'currency': event.currency}
    if s.grants_payout_bic:
        config['BIC'] = claims.normalise_iban(s.grants_payout_bic)
    sepa = SepaTransfer(config, clean=True)
    for claim in chosen:
        payment = {
            'name': claims.sepa_name(claim.account_holder),
            'IBAN': claim.iban,
            'amount': int(claim.approved_amount * 100),  # in cents
            'execution_date': execution_date,
            'description': CONTROL.sub('', claims.reference(claim))[:140],
            'endtoend_id': f'GRANT{claim.grant_id}CLAIM{claim.pk}',
        }
        if claim.bic:
            payment['BIC'] = claim.bic
        sepa.add_payment(payment)
    return sepa.export(validate=True)


def _sepa(event, chosen, left_out):
    """The SEPA file of ``chosen``; a payment the bank file refuses is found alone and left out, the rest goes."""
    today = datetime.date.today()
    try:
        return _sepa_file(event, chosen, today), chosen
    except PayoutError:
        raise
    except Exception:  # sepaxml refuses with plain exceptions; find the payment it refuses
        carried = []
        for claim in chosen:
            try:
                _sepa_file(event, [claim], today)
            except Exception:
                left_out.append((claim, _('The bank file refuses this payment\'s details.')))
            else:
                carried.append(claim)
        if not carried:
            return None, carried
        return _sepa_file(event, carried, today), carried


def rows(chosen):
    header = [_('Account holder'), 'IBAN', 'BIC', _('Other payout method'), _('Amount'), _('Currency'),
              _('Reference'), _('Grant'), _('Claim'), _('Grantee')]
    return header, [[c.account_holder, c.iban, c.bic, c.payout_other, c.approved_amount, c.grant.event.currency,
                     claims.reference(c), c.grant_id, c.pk, c.grant.name] for c in chosen]


def unique_ids(values):
    """The claim ids of a form's POST, each once, in their order; anything not a number is passed by."""
    ids = []
    for v in values:
        v = str(v).strip()
        if re.fullmatch(r'\d{1,18}', v) and int(v) not in ids:
            ids.append(int(v))
    return ids


def create_batch(event, fmt, claim_ids, *, user=None):
    """
    A batch of the approved claims among ``claim_ids`` that are in no live batch, as a file in ``fmt``. Returns
    ``(batch, left_out)``, ``left_out`` the claims the file cannot carry, with the reason. ``PayoutError`` when no
    claim is left to pay.
    """
    if fmt not in EXTENSIONS:
        raise PayoutError(_('Please choose a file format.'))
    ids = unique_ids(claim_ids)
    left_out = []
    with transaction.atomic():
        # the claims' row locks, always in the same order: a second export waits, then finds them taken
        locked = list(Claim.objects.select_for_update(of=OF_SELF)
                      .filter(grant__event=event, pk__in=ids, state=Claim.STATE_APPROVED).order_by('pk')
                      .values_list('pk', flat=True))
        taken = set(PayoutEntry.objects.filter(claim__in=locked, active=True).values_list('claim_id', flat=True))
        chosen = list(Claim.objects.filter(pk__in=[pk for pk in locked if pk not in taken])
                      .select_related('grant', 'grant__event').order_by('grant__name', 'pk'))
        if fmt == PayoutBatch.FORMAT_SEPA:
            carried = []
            for claim in chosen:
                reason = sepa_problem(claim)
                if reason:
                    left_out.append((claim, reason))
                else:
                    carried.append(claim)
            content, chosen = _sepa(event, carried, left_out) if carried else (None, [])
        elif fmt == PayoutBatch.FORMAT_CSV:
            content = csv_bytes(*rows(chosen))
        else:
            content = xlsx_bytes(str(_('Payouts')), *rows(chosen))
        if not chosen:
            raise PayoutError(_('None of the chosen claims can be paid in this file: they are paid, in another '
                                'payout batch, or cannot be carried by it.') if not left_out else
                              _('None of the chosen claims can be carried by this file.'))
        ext, content_type = EXTENSIONS[fmt]
        total = sum((c.approved_amount for c in chosen), Decimal('0.00'))
        batch = PayoutBatch.objects.create(event=event, format=fmt, total=total, content=content, created_by=user,
                                           filename='')
        batch.filename = f'grant-payouts-{event.slug}-{batch.pk}-{now().date().isoformat()}.{ext}'
        batch.save(update_fields=['filename'])
        PayoutEntry.objects.bulk_create([PayoutEntry(batch=batch, claim=c, amount=c.approved_amount) for c in chosen])
        batch.log_action('pretix_grants.payout.created', user=user, data={
            'format': fmt, 'claims': [c.pk for c in chosen], 'total': str(total),
            'left_out': [c.pk for c, reason in left_out],
        })
    return batch, left_out


def lock(batch):
    return PayoutBatch.objects.select_for_update(of=OF_SELF).get(pk=batch.pk)


def mark_paid(batch, *, user=None):
    """Mark exactly the batch's claims as paid (each grantee gets their mail); returns the claims marked."""
    with transaction.atomic():
        b = lock(batch)
        if b.cancelled:
            raise PayoutError(_('This payout batch has been cancelled.'))
        if b.paid_at:
            raise PayoutError(_('This payout batch has already been marked as paid.'))
        entries = list(b.entries.filter(active=True).select_related('claim', 'claim__grant'))
        done = claims.mark_paid([e.claim for e in entries], user=user)
        b.paid_at = now()
        b.save(update_fields=['paid_at'])
        b.log_action('pretix_grants.payout.paid', user=user, data={
            'claims': [c.pk for c in done], 'total': str(b.total)})
    return done


def cancel(batch, *, user=None):
    """Cancel a batch that has not been paid: its claims become payable again."""
    with transaction.atomic():
        b = lock(batch)
        if b.cancelled:
            raise PayoutError(_('This payout batch has already been cancelled.'))
        if b.paid_at:
            raise PayoutError(_('A payout batch marked as paid cannot be cancelled.'))
        claim_ids = list(b.entries.filter(active=True).values_list('claim_id', flat=True))
        b.entries.update(active=False)
        b.cancelled_at, b.cancelled_by = now(), user
        b.save(update_fields=['cancelled_at', 'cancelled_by'])
        b.log_action('pretix_grants.payout.cancelled', user=user, data={'claims': claim_ids, 'total': str(b.total)})
    return b
