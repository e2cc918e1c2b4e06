"""The letters' receivers and log texts, wired up by ``pretix_grants.signals``."""
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from pretix.api.signals import register_webhook_events
from pretix.base.logentrytype_registry import log_entry_types
from pretix.base.logentrytypes import EventLogEntryType
from pretix.base.signals import (
    order_canceled, order_expired, periodic_task, register_data_exporters,
    register_data_shredders,
)
from pretix.helpers.periodic import minimum_interval
from pretix.presale.signals import order_info

from .. import files
from ..base.guard import never_breaks_pretix
from ..hooks import grant_status_changed
from ..models import LetterRequest
from ..permissions import plugin_active
from . import rules as letters, shredder as letters_shredder
from .control import LetterExporter
from .shredder import LetterShredder
from .views import order_info as letter_order_info_box
from .webhooks import letter_webhook_events as grant_letter_webhook_events


@log_entry_types.new_from_dict({
    'pretix_grants.letter.requested': _('An invitation letter has been requested (reference {reference}).'),
    'pretix_grants.letter.approved': _('The invitation letter {reference} has been issued.'),
    'pretix_grants.letter.rejected': _('The request for invitation letter {reference} has been rejected.'),
    'pretix_grants.letter.cancelled': _('The invitation letter {reference} has been withdrawn.'),
    'pretix_grants.letter.changed': _('The data of invitation letter {reference} have been corrected.'),
    'pretix_grants.letter.reissued': _('The invitation letter {reference} has been issued again with the corrected data.'),
    'pretix_grants.letter.mail.sent': _('An email about the invitation letter has been sent.'),
    'pretix_grants.letter.retention_erased': _(
        'The retention period is over: passport data and invitation letters have been erased (requests: {letters}).'),
})
class LetterLogEntryType(EventLogEntryType):
    pass


@receiver(periodic_task, dispatch_uid='pretix_grants_letters_remove_released_pdfs')
@minimum_interval(minutes_after_success=5)
def letters_remove_released_pdfs(sender, **kwargs):
    letters.remove_released_pdfs()


@receiver(periodic_task, dispatch_uid='pretix_grants_letters_retention')
@minimum_interval(minutes_after_success=6 * 60)
def letters_retention(sender, **kwargs):
    letters_shredder.erase_due()


@receiver(order_info, dispatch_uid='pretix_grants_letters_order_info')
def letters_order_info(sender, order=None, request=None, **kwargs):
    return letter_order_info_box(sender, order, request)


@receiver(register_data_exporters, dispatch_uid='pretix_grants_letters_exporter')
def letters_data_exporter(sender, **kwargs):
    return LetterExporter


@receiver(register_data_shredders, dispatch_uid='pretix_grants_letters_shredder')
def letters_data_shredder(sender, **kwargs):
    return LetterShredder


@receiver(register_webhook_events, dispatch_uid='pretix_grants_letters_webhook_events')
def letters_webhook_events(sender, **kwargs):
    return grant_letter_webhook_events()


@receiver(grant_status_changed, dispatch_uid='pretix_grants_letters_status_changed')
def letters_status_changed(sender, grant, old_status, new_status, **kwargs):
    # after the status change's commit, in requests, tasks and cron alike: a failure (a letter's PDF on automatic
    # approval) is logged, and the other receivers (the ticket's hold, the voucher) still run
    never_breaks_pretix(letters.on_grant_status_changed)(grant, new_status)


# A letter's PDF goes with its row, however the row goes (a grant's, event's or organizer's deletion, pretix deleting
# a test-mode order).
@receiver(post_delete, sender=LetterRequest, dispatch_uid='pretix_grants_letter_file_deleted')
def letter_file_deleted(sender, instance, **kwargs):
    files.delete_after_commit(instance.pdf)


# A cancelled or expired order withdraws its letters (rules.on_order_ended).
@receiver([order_canceled, order_expired], dispatch_uid='pretix_grants_letters_order_ended')
def letters_order_ended(sender, order, **kwargs):
    # inside pretix's cancellation and expiry, for every event of the installation
    if plugin_active(sender):
        never_breaks_pretix(letters.on_order_ended)(order)
