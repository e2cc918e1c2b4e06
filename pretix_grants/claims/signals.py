"""The claims' receivers and log texts, wired up by ``pretix_grants.signals``."""
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from pretix.api.signals import register_webhook_events
from pretix.base.logentrytype_registry import log_entry_types
from pretix.base.logentrytypes import EventLogEntryType
from pretix.base.signals import (
    periodic_task, register_data_shredders, register_mail_placeholders,
)
from pretix.helpers.periodic import minimum_interval

from .. import files
from ..models import Receipt
from . import rules as claims, shredder as claims_shredder
from .shredder import ClaimShredder
from .webhooks import claim_webhook_events as grant_claim_webhook_events


@receiver(register_mail_placeholders, dispatch_uid='pretix_grants_claim_mail_placeholders')
def claim_mail_placeholders(sender, **kwargs):
    return claims.placeholders()


@receiver(periodic_task, dispatch_uid='pretix_grants_claim_reminders')
@minimum_interval(minutes_after_success=60)
def claim_reminders(sender, **kwargs):
    claims.send_reminders()


@receiver(periodic_task, dispatch_uid='pretix_grants_claim_retention')
@minimum_interval(minutes_after_success=6 * 60)
def claim_retention(sender, **kwargs):
    claims_shredder.erase_due()


@log_entry_types.new_from_dict({
    'pretix_grants.claim.saved': _('The grantee has saved their reimbursement claim ({claimed}).'),
    'pretix_grants.claim.submitted': _('The reimbursement claim has been submitted ({claimed}).'),
    'pretix_grants.claim.approved': _('The reimbursement claim has been approved: {approved} of {claimed}.'),
    'pretix_grants.claim.changes_requested': _('Changes to the reimbursement claim have been requested.'),
    'pretix_grants.claim.rejected': _('The reimbursement claim has been rejected.'),
    'pretix_grants.claim.paid': _('The reimbursement claim has been paid ({approved}).'),
    'pretix_grants.claim.retention_erased': _(
        'The retention period is over: payout details and receipts have been erased (claims: {claims}, '
        'receipts: {receipts}).'),
})
class ClaimLogEntryType(EventLogEntryType):
    pass


@receiver(register_webhook_events, dispatch_uid='pretix_grants_claim_webhook_events')
def claim_webhook_events(sender, **kwargs):
    return grant_claim_webhook_events()


@receiver(register_data_shredders, dispatch_uid='pretix_grants_claim_data_shredder')
def claim_data_shredder(sender, **kwargs):
    return ClaimShredder


# Payout batches (payouts.py): their log texts.
@log_entry_types.new_from_dict({
    'pretix_grants.payout.created': _('A payout batch has been created ({total}).'),
    'pretix_grants.payout.paid': _('The claims of the payout batch have been marked as paid ({total}).'),
    'pretix_grants.payout.cancelled': _('The payout batch has been cancelled; its claims can be paid again ({total}).'),
})
class PayoutLogEntryType(EventLogEntryType):
    pass


# A receipt's file goes with its row, however the row goes (the API, a cascade from a grant, event or organizer).
@receiver(post_delete, sender=Receipt, dispatch_uid='pretix_grants_receipt_file_deleted')
def receipt_file_deleted(sender, instance, **kwargs):
    files.delete_after_commit(instance.file.name)
