import logging

from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from pretix.api.signals import register_webhook_events
from pretix.base.logentrytype_registry import log_entry_types
from pretix.base.logentrytypes import EventLogEntryType
from pretix.base.models import Event, Voucher
from pretix.base.signals import (
    checkin_created, event_copy_data, order_approved, order_canceled,
    order_changed, order_denied, order_expired, order_paid, order_placed,
    order_reactivated, periodic_task, register_data_exporters,
    register_data_shredders, register_event_permission_groups,
    register_mail_placeholders,
)
from pretix.control.signals import event_dashboard_widgets, nav_event
from pretix.helpers.periodic import minimum_interval
from pretix.presale.signals import front_page_top

from . import defaults  # NOQA: registers the settings' defaults
from . import files, issuance, lifecycle, mails, tasks
from .applications import front_page_link
from .base.guard import SHREDDER_FAILED, after_commit, never_breaks_pretix
from .claims import (  # NOQA: F401 (wires the claims' receivers)
    signals as claim_signals,
)
from .control.dashboard import dashboard_widget
from .control.eventcopy import copy_settings
from .control.exporters import GrantExporter
from .control.nav import nav_event as control_nav
from .decisions import (  # NOQA: F401 (wires the decisions' receivers)
    signals as decision_signals,
)
from .hooks import grant_mails_owed, grant_status_changed
from .letters import (  # NOQA: F401 (wires the letters' receivers)
    signals as letter_signals,
)
from .mails import placeholders
from .permissions import permission_group
from .shredder import GrantShredder
from .tickets import signals as ticket_signals  # NOQA: F401 (receivers)
from .webhooks import webhook_events as grant_webhook_events

__all__ = ['grant_status_changed']  # the plugin's own signal lives in hooks.py; importable from here as before
logger = logging.getLogger(__name__)


def _active_for(voucher):
    """
    Whether the plugin is active in ``voucher``'s event: Django's model signals on pretix's ``Voucher`` fire for
    every event of the installation. No query when pretix has the event at hand (it does for its own edits).
    """
    if Voucher.event.is_cached(voucher):
        plugins = voucher.event.plugins
    else:
        with scopes_disabled():
            plugins = Event.objects.filter(pk=voucher.event_id).values_list('plugins', flat=True).first()
    return 'pretix_grants' in (plugins or '').split(',')


@receiver(register_mail_placeholders, dispatch_uid='pretix_grants_mail_placeholders')
def mail_placeholders(sender, **kwargs):
    return placeholders()


@receiver(register_event_permission_groups, dispatch_uid='pretix_grants_permission_groups')
def permission_groups(sender, **kwargs):
    return [permission_group()]


@receiver(periodic_task, dispatch_uid='pretix_grants_requeue_stale_issuance')
@minimum_interval(minutes_after_success=5)
def requeue_stale_issuance(sender, **kwargs):
    tasks.requeue_stale_issuance()


@log_entry_types.new_from_dict({
    'pretix_grants.grant.created': _('The grant has been created.'),
    'pretix_grants.grant.changed': _('The grant has been changed.'),
    'pretix_grants.grant.decision': _('A decision has been staged: {decision}.'),
    'pretix_grants.grant.approved': _('The grant has been approved and offered to the grantee.'),
    'pretix_grants.grant.waiting_list': _('The grant has been put on the waiting list.'),
    'pretix_grants.grant.rejected': _('The grant has been rejected.'),
    'pretix_grants.grant.confirmed': _('The grant has been confirmed ({actor}).'),
    'pretix_grants.grant.refused': _('The grant has been refused ({actor}).'),
    'pretix_grants.grant.expired': _('The offer expired without a reply.'),
    'pretix_grants.grant.cancelled': _('The grant has been cancelled.'),
    'pretix_grants.grant.voucher.issued': _('Voucher {code} has been issued.'),
    'pretix_grants.grant.voucher.linked': _('The grantee\'s free voucher {code} is used for the grant.'),
    'pretix_grants.grant.voucher.upgraded': _('The grantee\'s voucher {code} has been upgraded to a free ticket.'),
    'pretix_grants.grant.voucher.needs_attention': _('The voucher needs attention: {reason}'),
    'pretix_grants.grant.voucher.deleted': _('Voucher {code} has been deleted.'),
    'pretix_grants.grant.voucher.ended': _('Voucher {code} can no longer be used.'),
    'pretix_grants.grant.voucher.restored': _('Voucher {code} has been given back its previous values.'),
    'pretix_grants.grant.voucher.unlinked': _('Voucher {code} is no longer used for the grant.'),
    'pretix_grants.grant.mail.sent': _('An email has been sent: {subject}'),
    'pretix_grants.grant.mail.retried': _('A failed email has been queued again.'),
    mails.RESENT: _('An email was delayed ({subject}) and has been sent again.'),
    mails.RESENT_MAYBE_TWICE: _('An email was delayed while being sent ({subject}) and has been sent again; the '
                                'grantee may receive it twice.'),
})
class GrantLogEntryType(EventLogEntryType):
    pass


@log_entry_types.new_from_dict({
    'pretix_grants.grant.deleted': _('The grant has been deleted.'),
    'pretix_grants.grant.voucher.assigned': _('Voucher {code} has been linked to the grant.'),
    SHREDDER_FAILED: _('The data shredder could not remove the data of "{shredder}"; nothing of it was changed. '
                       'Please run the data shredder for it again.'),
})
class GrantApiLogEntryType(EventLogEntryType):
    pass


@receiver(register_webhook_events, dispatch_uid='pretix_grants_webhook_events')
def webhook_events(sender, **kwargs):
    return grant_webhook_events()


# Lifecycle automation (lifecycle.py): expiry, reminders, waiting-list promotion, following the voucher.
@receiver(periodic_task, dispatch_uid='pretix_grants_lifecycle_expire_offers')
@minimum_interval(minutes_after_success=1)
def lifecycle_expire_offers(sender, **kwargs):
    lifecycle.expire_offers()


@receiver(periodic_task, dispatch_uid='pretix_grants_lifecycle_send_reminders')
@minimum_interval(minutes_after_success=10)
def lifecycle_send_reminders(sender, **kwargs):
    lifecycle.send_reminders()


@receiver(periodic_task, dispatch_uid='pretix_grants_lifecycle_sync_unseen_tickets')
@minimum_interval(minutes_after_success=30)
def lifecycle_sync_unseen_tickets(sender, **kwargs):
    lifecycle.sync_unseen_tickets()


@receiver(grant_status_changed, dispatch_uid='pretix_grants_lifecycle_status_changed')
def lifecycle_status_changed(sender, grant, old_status, new_status, **kwargs):
    tasks.queue_after_status_change(sender, grant, old_status, new_status)


@receiver(grant_mails_owed, dispatch_uid='pretix_grants_mails_owed')
def mails_owed(sender, record_ids, **kwargs):
    tasks.queue_owed_mails(sender, record_ids)


@receiver([order_placed, order_paid, order_canceled, order_reactivated, order_expired, order_changed,
           order_approved, order_denied], dispatch_uid='pretix_grants_lifecycle_order')
def lifecycle_order(sender, order, **kwargs):
    # after pretix's checkout committed: it holds the voucher's locks until then, and the plugin locks grant
    # rows before voucher locks (issuance's lock order)
    # (pretix sends these only for events with the plugin active)
    after_commit(lifecycle.on_order_changed, order)


@receiver(checkin_created, dispatch_uid='pretix_grants_lifecycle_checkin_created')
def lifecycle_checkin_created(sender, checkin, **kwargs):
    after_commit(lifecycle.on_checkin, checkin)


@receiver(event_dashboard_widgets, dispatch_uid='pretix_grants_lifecycle_dashboard_widget')
def lifecycle_dashboard_widget(sender, subevent=None, lazy=False, **kwargs):
    return [dashboard_widget(sender, lazy=lazy)]


@log_entry_types.new_from_dict({
    'pretix_grants.grant.place_refilled': _('The freed place has been offered to the next grant on the waiting list '
                                            '({name}).'),
    'pretix_grants.grant.place_not_refilled': _('The freed place has not been offered to the waiting list: '
                                                '{reason}.'),
    'pretix_grants.grant.place_candidate_skipped': _('The next grant on the waiting list changed meanwhile '
                                                     '({status}); the place goes to the one after it.'),
    'pretix_grants.grant.ticket.none': _('The grant voucher is no longer used by an order.'),
    'pretix_grants.grant.ticket.pending': _('A ticket has been ordered with the grant voucher: order {order}, '
                                            'payment pending.'),
    'pretix_grants.grant.ticket.paid': _('A ticket has been ordered with the grant voucher: order {order}.'),
    'pretix_grants.grant.ticket.canceled': _('Order {order} has been canceled; the grant voucher can be used '
                                             'again.'),
    'pretix_grants.grant.ticket.expired': _('Order {order} has expired; the grant voucher can be used again.'),
    'pretix_grants.grant.ticket.checked_in': _('The grantee has been checked in (order {order}).'),
})
class GrantLifecycleLogEntryType(EventLogEntryType):
    pass


@log_entry_types.new_from_dict({
    'pretix_grants.grant.reply_page.opened': _('The grantee opened their reply page for the first time.'),
    'pretix_grants.grant.reply_page.viewed': _('A team member looked at the grantee\'s page (read only).'),
})
class GrantReplyPageLogEntryType(EventLogEntryType):
    pass


# Django's signals on pretix's Voucher: for every voucher of the installation, wherever it is saved or deleted
# (a request, a task, a shell, another plugin), so each returns at once outside the plugin's events.
@receiver(pre_delete, sender=Voucher, dispatch_uid='pretix_grants_voucher_deleted')
def voucher_deleted(sender, instance, **kwargs):
    if _active_for(instance):
        never_breaks_pretix(issuance.voucher_deleted)(instance)


@receiver(pre_save, sender=Voucher, dispatch_uid='pretix_grants_voucher_terms')
def voucher_terms_before(sender, instance, update_fields=None, **kwargs):
    if instance.pk is not None and _active_for(instance):
        instance._pretix_grants_terms = never_breaks_pretix(issuance.voucher_terms)(instance, update_fields)


@receiver(post_save, sender=Voucher, dispatch_uid='pretix_grants_voucher_changed')
def voucher_changed(sender, instance, created=False, **kwargs):
    before = instance.__dict__.pop('_pretix_grants_terms', None)
    if created or before is None:
        return
    changed = issuance.changed_terms(instance, before)
    if changed:
        after_commit(issuance.voucher_changed, instance.pk, changed)


# What changed vouchers without a signal (pretix's bulk edit, a deleted product, variation or quota), once a run.
@receiver(periodic_task, dispatch_uid='pretix_grants_check_vouchers')
@minimum_interval(minutes_after_success=1)
def check_vouchers(sender, **kwargs):
    issuance.check_vouchers()


# Organizer control panel (control/).
@receiver(nav_event, dispatch_uid='pretix_grants_nav_event')
def control_nav_event(sender, request=None, **kwargs):
    return control_nav(request)


@receiver(event_copy_data, dispatch_uid='pretix_grants_event_copy_data')
def control_event_copy_data(sender, other, item_map=None, variation_map=None, quota_map=None, **kwargs):
    copy_settings(sender, other, item_map or {}, variation_map or {}, quota_map or {})


@receiver(register_data_exporters, dispatch_uid='pretix_grants_exporter')
def control_data_exporter(sender, **kwargs):
    return GrantExporter


# Applications in the shop and blind review (applications.py, reviews.py).
@receiver(front_page_top, dispatch_uid='pretix_grants_front_page_apply')
def front_page_apply(sender, request=None, **kwargs):
    return front_page_link(sender, request)


@log_entry_types.new_from_dict({
    'pretix_grants.grant.reviewed': _('A reviewer has scored the application.'),
})
class GrantReviewLogEntryType(EventLogEntryType):
    pass


# Voucher mails of bulk issuance, owed in the voucher's transaction and handed to pretix after commit.
@receiver(periodic_task, dispatch_uid='pretix_grants_requeue_owed_mails')
@minimum_interval(minutes_after_success=5)
def requeue_owed_mails(sender, **kwargs):
    tasks.requeue_owed_mails()


# Grant mails handed to pretix but stuck (a worker that died while holding or sending them), sent again.
@receiver(periodic_task, dispatch_uid='pretix_grants_resend_stalled_mails')
@minimum_interval(minutes_after_success=1)
def resend_stalled_mails(sender, **kwargs):
    mails.resend_stalled()


# Personal data (shredder.py): pretix's data shredder removes the grantees' names, addresses and notes.
@receiver(register_data_shredders, dispatch_uid='pretix_grants_data_shredder')
def data_shredder(sender, **kwargs):
    return GrantShredder


# Files of deleted rows the storage refused to delete (files.py): tried again.
@receiver(periodic_task, dispatch_uid='pretix_grants_retry_file_deletion')
@minimum_interval(minutes_after_success=30)
def retry_file_deletion(sender, **kwargs):
    files.retry()
