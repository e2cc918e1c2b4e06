"""
The claims' part of pretix's data shredder: the receipts (files on storage) and the payout details go; the claims
stay with their states and amounts, so the programme's accounts still add up.
"""
import json

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from pretix.base.shredder import BaseDataShredder, shred_log_fields

from ..models import Claim, ClaimItem, PayoutBatch, Receipt

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
        # the files go once the rows' deletion has committed, each on its own (files.py, through post_delete)
        if progress_callback:
            progress_callback(100)
