"""
The claims' part of pretix's data shredder: the receipts (files on storage) and the payout details go; the claims
stay with their states and amounts, so the programme's accounts still add up.
"""
import json
import logging

from django.db import transaction
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from pretix.base.models import Event
from pretix.base.shredder import BaseDataShredder, shred_log_fields

from .. import retention
from ..base.guard import never_breaks_the_shredder
from ..models import Claim, ClaimItem, PayoutBatch, Receipt
from . import rules as claims

logger = logging.getLogger(__name__)

CLAIM_LOG_PII = {f'pretix_grants.claim.{s}': ['message'] for s in ('approved', 'changes_requested', 'rejected')}
# the retention job (erase_due) leaves the claims that still wait for a decision or for their money
# (a change request the grantee never answered is settled too: after the deadline nothing can be sent any more)
SETTLED = (Claim.STATE_DRAFT, Claim.STATE_CHANGES_REQUESTED, Claim.STATE_REJECTED, Claim.STATE_PAID)
PAYOUT_FIELDS = ('account_holder', 'iban', 'bic', 'payout_other')
ERASED = 'pretix_grants.claim.retention_erased'


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

    @never_breaks_the_shredder
    def shred_data(self, progress_callback=None):
        with transaction.atomic():
            erase(self._claims(), PayoutBatch.objects.filter(event=self.event))
            self._claims().update(message='')
            ClaimItem.objects.filter(claim__grant__event=self.event).update(description='')
            for le in self.event.logentry_set.filter(action_type__in=CLAIM_LOG_PII).exclude(data=''):
                shred_log_fields(le, banlist=CLAIM_LOG_PII[le.action_type])
        if progress_callback:
            progress_callback(100)


def erase(claims_qs, batches):
    """
    The payout details and receipts of ``claims_qs`` and the files of the payout ``batches`` (they hold the account
    details too; the batches keep their claims and totals). The shredder's and the retention job's one erasure.
    Returns how many claims and receipts it erased.
    """
    receipts = Receipt.objects.filter(item__claim__in=claims_qs)
    counts = {'claims': claims_qs.filter(_holds_payout_data()).count(), 'receipts': receipts.count()}
    # the files go once the rows' deletion has committed, each on its own (files.py, through post_delete)
    receipts.delete()
    claims_qs.update(**{f: '' for f in PAYOUT_FIELDS})
    batches.exclude(content=b'').update(content=b'')
    return counts


def _holds_payout_data():
    q = Q()
    for f in PAYOUT_FIELDS:
        q |= ~Q(**{f: ''})
    return q


def erase_due(at=None):
    """
    Retention (retention.py), from pretix's periodic task and across all organizers: the payout details and
    receipts of the settled claims (drafts, unanswered change requests, rejected, paid) of each event whose claim deadline is
    ``grants_retention_days`` past, and the files of its payout batches whose claims are all settled. A claim
    that still waits for its decision or its money keeps them, and goes on a later run once it is settled.
    Logs the counts on the event. Returns the number of claims erased.
    """
    at = at or now()
    erased = 0
    with scopes_disabled():
        left = Claim.objects.filter(state__in=SETTLED).filter(
            _holds_payout_data() | Q(items__receipts__isnull=False))
        for event in Event.objects.filter(grants__claim__in=left).distinct():
            try:
                if not retention.due(event, claims.window(event)[1], at):
                    continue
                with transaction.atomic():
                    settled = Claim.objects.filter(grant__event=event, state__in=SETTLED)
                    batches = PayoutBatch.objects.filter(event=event).exclude(
                        entries__claim__in=Claim.objects.exclude(state__in=SETTLED))
                    counts = erase(settled, batches)
                    if counts['claims'] or counts['receipts']:
                        event.log_action(ERASED, data=counts)
                        erased += counts['claims']
            except Exception:
                # one event's failure never keeps the others' data: this one is tried again on the next run
                logger.exception('Erasing the payout details of event %s at the end of retention failed', event.pk)
    return erased
