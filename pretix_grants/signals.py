from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from pretix.base.logentrytype_registry import log_entry_types
from pretix.base.logentrytypes import EventLogEntryType
from pretix.base.signals import (
    EventPluginSignal, periodic_task, register_event_permission_groups,
    register_mail_placeholders,
)
from pretix.helpers.periodic import minimum_interval

from . import defaults  # NOQA: registers the settings' defaults

grant_status_changed = EventPluginSignal()
"""
Sent after a grant's status change has been committed, to the plugins active on its event.

Arguments: ``sender`` the event, ``grant`` the grant, ``old_status`` and ``new_status``.
"""


@receiver(register_mail_placeholders, dispatch_uid='pretix_grants_mail_placeholders')
def mail_placeholders(sender, **kwargs):
    from .mails import placeholders

    return placeholders()


@receiver(register_event_permission_groups, dispatch_uid='pretix_grants_permission_groups')
def permission_groups(sender, **kwargs):
    from .permissions import permission_group

    return [permission_group()]


@receiver(periodic_task, dispatch_uid='pretix_grants_requeue_stale_issuance')
@minimum_interval(minutes_after_success=5)
def requeue_stale_issuance(sender, **kwargs):
    from .tasks import requeue_stale_issuance

    requeue_stale_issuance()


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
    'pretix_grants.grant.voucher.restored': _('Voucher {code} has been given back its previous values.'),
    'pretix_grants.grant.voucher.unlinked': _('Voucher {code} is no longer used for the grant.'),
    'pretix_grants.grant.mail.sent': _('An email has been sent: {subject}'),
    'pretix_grants.grant.mail.retried': _('A failed email has been queued again.'),
})
class GrantLogEntryType(EventLogEntryType):
    pass


# organizer control panel
from pretix.base.signals import (  # NOQA: E402
    event_copy_data, register_data_exporters,
)
from pretix.control.signals import nav_event  # NOQA: E402


@receiver(nav_event, dispatch_uid='pretix_grants_nav_event')
def control_nav_event(sender, request=None, **kwargs):
    from .control.nav import nav_event

    return nav_event(request)


@receiver(event_copy_data, dispatch_uid='pretix_grants_event_copy_data')
def control_event_copy_data(sender, other, item_map=None, variation_map=None, quota_map=None, **kwargs):
    from .control.eventcopy import copy_settings

    copy_settings(sender, other, item_map or {}, variation_map or {}, quota_map or {})


@log_entry_types.new_from_dict({
    'pretix_grants.grant.voucher.assigned': _('Voucher {code} has been linked to the grant by an organizer.'),
})
class GrantControlLogEntryType(EventLogEntryType):
    pass


@receiver(register_data_exporters, dispatch_uid='pretix_grants_exporter')
def control_data_exporter(sender, **kwargs):
    from .control.exporters import GrantExporter

    return GrantExporter
