"""The own-ticket feature's receivers, log texts and mail placeholders (wiring only)."""
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from pretix.base.logentrytype_registry import log_entry_types
from pretix.base.logentrytypes import EventLogEntryType
from pretix.base.signals import register_mail_placeholders

from ..base.guard import never_breaks_pretix
from ..hooks import (
    grant_own_ticket, grant_page_panels, grant_reply_panels,
    grant_status_changed,
)
from ..models import Grant
from . import control, rules, views


@receiver(grant_own_ticket, dispatch_uid='pretix_grants_tickets_own_ticket')
def own_ticket(sender, grant, target, **kwargs):
    return rules.take_over(grant, target)


@receiver(grant_page_panels, dispatch_uid='pretix_grants_tickets_grant_page')
def grant_page_panel(sender, grant, request, **kwargs):
    return control.grant_panel(sender, grant, request)


@receiver(grant_reply_panels, dispatch_uid='pretix_grants_tickets_reply_page')
def reply_page_panel(sender, grant, request, **kwargs):
    return views.reply_panel(sender, grant, request)


@receiver(post_save, sender=Grant, dispatch_uid='pretix_grants_tickets_grant_created')
def grant_created(sender, instance, created=False, raw=False, **kwargs):
    # in the application's own transaction: the applicant's place is held with their application, or not at all
    if created and not raw and rules.hold_due(instance):
        rules.hold_with_application(instance)


@receiver(grant_status_changed, dispatch_uid='pretix_grants_tickets_status_changed')
def status_changed(sender, grant, old_status, new_status, **kwargs):
    # after the status change's commit, which happens in requests, tasks, cron and shells alike: guarded as the
    # plugin's work in pretix's flows is, so a failure is logged, never the organizer's or grantee's error page
    never_breaks_pretix(rules.follow_status)(grant, new_status)


@receiver(register_mail_placeholders, dispatch_uid='pretix_grants_tickets_placeholders')
def placeholders(sender, **kwargs):
    return rules.placeholders()


LOG_TEXTS = {
    'asked': _('Order {order} is the grantee\'s own ticket; the grantee is asked whether to refund or keep it.'),
    'chosen': _('The grantee has chosen what happens with their order {order}: {choice}.'),
    'kept': _('Order {order} is kept as the grantee\'s own ticket; no voucher, no refund.'),
    'refund_planned': _('Order {order} is the grantee\'s own ticket; it is being made free and refunded.'),
    'free': _('Order {order} has been made free for the grantee; nothing had been paid for the ticket.'),
    'refunded': _('The ticket in order {order} has been made free and {amount} refunded (refund {refund}).'),
    'refund_failed': _('The refund for order {order} failed: {error}'),
    'refund_retried': _('The refund for order {order} is being tried again.'),
}


@log_entry_types.new_from_dict({
    **{f'pretix_grants.grant.own_ticket.{k}': v for k, v in LOG_TEXTS.items()},
    **{f'pretix_grants.order.own_ticket.{k}': v for k, v in LOG_TEXTS.items()},
    'pretix_grants.grant.voucher.own_ticket': _('No voucher: {reason}'),
    'pretix_grants.grant.ticket_hold.held': _('A ticket is held for the applicant (voucher {code}).'),
    'pretix_grants.grant.ticket_hold.full': _('No ticket could be held for the applicant: the quota is full.'),
    'pretix_grants.grant.ticket_hold.released': _('The ticket held for the applicant has been released.'),
})
class OwnTicketLogEntryType(EventLogEntryType):
    pass
