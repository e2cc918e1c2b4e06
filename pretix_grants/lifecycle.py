"""
The grant programme's life after the decisions: offers that expire, reminders before they do, freed places that
go to the waiting list, and each grant voucher followed to an order and a check-in.

Every status change goes through ``workflow`` and every mail through ``mails``; this module only decides *when*.
It queues nothing itself: ``tasks`` runs the promotion in a worker.
The periodic work (``expire_offers``, ``send_reminders``, ``sync_unseen_tickets``) is safe to run any number of
times and at once: each grant is handled in its own transaction under its row lock and re-checked there.
"""
import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from pretix.base.models import Checkin, Event, Order, OrderPosition, Voucher
from pretix.helpers import OF_SELF

from . import issuance, mails, workflow
from .models import TICKET_VALID, Grant, GrantMail
from .permissions import plugin_active

logger = logging.getLogger(__name__)

# A reminder this soon after the offer itself would only repeat the decision mail.
MIN_OFFER_AGE_FOR_REMINDER = timedelta(days=1)
# The changes that give a place back.
FREEING = {
    (Grant.STATUS_APPROVED, Grant.STATUS_EXPIRED),
    (Grant.STATUS_APPROVED, Grant.STATUS_REFUSED),
    (Grant.STATUS_CONFIRMED, Grant.STATUS_REFUSED),
}


def _active_events(event_ids):
    return {pk: e for pk, e in Event.objects.select_related('organizer').in_bulk(set(event_ids)).items()
            if plugin_active(e)}


# ---------------------------------------------------------------------------------------------------------------
# Expiry


def due_for_expiry(at=None):
    """Offers whose reply deadline has passed. At the deadline itself the grantee may still reply."""
    return Grant.objects.reply_deadline_passed(at)


def expire_offer(grant, at=None):
    """
    Expire one offer and send the expiry mail, in one transaction. Returns the grant, or None if it is no longer
    due (answered, extended or already expired by a concurrent run).
    """
    at = at or now()
    with transaction.atomic():
        g = workflow.lock(grant)
        if not g.reply_deadline_passed(at):
            return None
        g = workflow.expire(g)
        if grant.event_id == g.event_id and Grant.event.is_cached(grant):
            g.event = grant.event  # one Event object for the whole run: its settings are read once
        mails.send(g, GrantMail.KIND_EXPIRED, 'expired')
    return g


def expire_offers(at=None):
    """Expire every offer past its deadline, in every event that uses the plugin. Returns how many expired."""
    at = at or now()
    with scopes_disabled():
        due = list(due_for_expiry(at).order_by('reply_deadline', 'pk').values_list('pk', 'event_id'))
        events = _active_events(e for pk, e in due)
        expired = 0
        for pk, event_id in due:
            if event_id not in events:
                continue
            try:
                if expire_offer(Grant(pk=pk, event=events[event_id]), at):
                    expired += 1
            except Exception:
                # one broken grant (e.g. a mail template error) must not keep the others from expiring
                logger.exception('Expiring the offer of grant %s failed', pk)
    return expired


# ---------------------------------------------------------------------------------------------------------------
# Reminders


def _reminded_for_current_offer():
    """A reminder was sent for the grant's current offer (the one published at ``offered_at``)."""
    return GrantMail.objects.filter(grant=OuterRef('pk'), kind=GrantMail.KIND_REMINDER).filter(
        Q(grant__offered_at__isnull=True) | Q(created__gte=OuterRef('offered_at'))
    )


def due_for_reminder(event, at=None):
    """Offers of ``event`` that have not been answered, whose reminder is due and was not sent for this offer."""
    at = at or now()
    days = event.settings.get('grants_reminder_days', as_type=int)
    if not days or days <= 0:
        return Grant.objects.none()
    return Grant.objects.filter(
        event=event, status=Grant.STATUS_APPROVED,
        reply_deadline__gt=at, reply_deadline__lte=at + timedelta(days=days),
    ).filter(
        Q(offered_at__isnull=True) | Q(offered_at__lte=at - MIN_OFFER_AGE_FOR_REMINDER)
    ).exclude(Exists(_reminded_for_current_offer()))


def remind(grant, at=None):
    """Send the reminder for the grant's current offer, unless it is no longer due. Returns the GrantMail or None."""
    with transaction.atomic():
        g = workflow.lock(grant)
        if not due_for_reminder(g.event, at).filter(pk=g.pk).exists():
            return None
        return mails.send_reminder(g)


def send_reminders(at=None):
    """Remind every grantee whose reminder is due, in every event that uses the plugin. Returns how many."""
    at = at or now()
    sent = 0
    with scopes_disabled():
        event_ids = Grant.objects.filter(
            status=Grant.STATUS_APPROVED, reply_deadline__gt=at,
        ).order_by().values_list('event_id', flat=True).distinct()
        for event in _active_events(event_ids).values():
            for pk in list(due_for_reminder(event, at).values_list('pk', flat=True)):
                try:
                    if remind(Grant(pk=pk, event=event), at):
                        sent += 1
                except Exception:
                    logger.exception('Sending the reminder of grant %s failed', pk)
    return sent


# ---------------------------------------------------------------------------------------------------------------
# Waiting-list promotion


def waiting_list(event):
    """The waiting list in the order places are given: organizer-set rank (unranked last), then application time."""
    return Grant.objects.filter(event=event, status=Grant.STATUS_WAITING_LIST).order_by(
        F('rank').asc(nulls_last=True), 'created', 'pk',
    )


def budget_used(event):
    """The granted amounts (travel, accommodation, other) of all offered and confirmed grants."""
    return Grant.objects.filter(event=event).holding_place().granted_total()


def why_not_offer(event, grant):
    """None if the budget and the maximum number of offers leave room for ``grant``, else the reason."""
    s = event.settings
    max_offers = s.get('grants_max_offers', as_type=int)
    if max_offers is not None and Grant.objects.filter(event=event).holding_place().count() >= max_offers:
        return _('the maximum number of offers is reached')
    budget = s.get('grants_budget', as_type=Decimal)
    if budget is not None and budget_used(event) + grant.total_amount > budget:
        return _('the rest of the budget does not cover the next grant on the waiting list')
    return None


def _lock_programme(event):
    """
    The per-event lock that serialises promotions: a row lock on the event. FOR NO KEY UPDATE, so it does not
    block pretix from inserting rows that refer to the event (orders, log entries) meanwhile.
    """
    Event.objects.select_for_update(of=OF_SELF, no_key=True).only('pk').get(pk=event.pk)


def promote_for(freed):
    """
    Give the place ``freed`` gave back to the next grant on the waiting list, if the settings allow it.

    Runs under the event's promotion lock and records the promoted grant on the freed one, so a place is given
    once, whatever the number of concurrent or repeated calls. Returns the promoted grant or None.
    """
    event = freed.event
    if not event.settings.get('grants_promote_waiting_list', as_type=bool):
        return None
    with transaction.atomic():
        _lock_programme(event)
        f = Grant.objects.select_for_update(of=OF_SELF).get(pk=freed.pk)
        if f.place_taken_by_id or f.status not in (Grant.STATUS_EXPIRED, Grant.STATUS_REFUSED):
            return None
        promoted = None
        for candidate in waiting_list(event).only('pk'):
            # the candidate under its own row lock: an organizer may be rejecting it at this moment
            candidate = workflow.lock(candidate)
            if candidate.status != Grant.STATUS_WAITING_LIST:
                f.log_action('pretix_grants.grant.place_candidate_skipped', data={
                    'next_grant': candidate.pk, 'status': candidate.status,
                })
                continue
            reason = why_not_offer(event, candidate)
            if reason:
                f.log_action('pretix_grants.grant.place_not_refilled', data={
                    'reason': str(reason), 'next_grant': candidate.pk,
                })
                return None
            promoted = workflow.change_status(
                candidate, Grant.STATUS_APPROVED, actor=workflow.SYSTEM,
                reason='waiting_list_promotion', extra={'place_of': f.pk},
            )
            break
        if promoted is None:
            return None
        f.place_taken_by = promoted
        f.save(update_fields=['place_taken_by', 'modified'])
        f.log_action('pretix_grants.grant.place_refilled', data={'grant': promoted.pk, 'name': promoted.name})
    return promoted


def frees_place(event, old_status, new_status):
    """Whether this change gives a place back that the waiting list should get."""
    return (old_status, new_status) in FREEING and event.settings.get('grants_promote_waiting_list', as_type=bool)


def on_status_changed(grant, old_status, new_status):
    """After a status change: a new offer may free its place again later."""
    if new_status == Grant.STATUS_APPROVED and grant.place_taken_by_id:
        Grant.objects.filter(pk=grant.pk, status=Grant.STATUS_APPROVED).update(place_taken_by=None)


# ---------------------------------------------------------------------------------------------------------------
# Following the voucher: order, cancellation, check-in, no-show

def _ticket_of(voucher_id):
    """(order code, order status, first check-in) of the order that uses this voucher now, or that used it last."""
    positions = list(
        OrderPosition.all.filter(voucher_id=voucher_id).select_related('order')
        .order_by('-order__datetime', '-pk')
    )
    if not positions:
        return '', '', None
    valid = [p for p in positions if not p.canceled and p.order.status in TICKET_VALID]
    pos = (valid or positions)[0]
    status = Order.STATUS_CANCELED if pos.canceled and pos.order.status in TICKET_VALID else pos.order.status
    checked_in = None
    if valid:
        checked_in = Checkin.objects.filter(
            position__in=valid, successful=True, type=Checkin.TYPE_ENTRY,
        ).aggregate(m=Min('datetime'))['m']
    return pos.order.code, status, checked_in


def sync_ticket(grant):
    """Bring the grant's order code, order state and check-in up to date with pretix; log what changed."""
    with transaction.atomic():
        g = workflow.lock(grant)
        if g.voucher_id:
            code, status, checked_in = _ticket_of(g.voucher_id)
        else:
            code, status, checked_in = g.order_code, g.order_status, g.checked_in_at
        if (code, status, checked_in) == (g.order_code, g.order_status, g.checked_in_at):
            return g
        before = g.ticket_state()
        g.order_code, g.order_status, g.checked_in_at = code, status, checked_in
        g.save(update_fields=['order_code', 'order_status', 'checked_in_at', 'modified'])
        after = g.ticket_state()
        if after != before:
            g.log_action(f'pretix_grants.grant.ticket.{after}', data={
                'order': code, 'order_status': status,
                'checked_in': checked_in.isoformat() if checked_in else None,
            })
    grant.take_values_of(g)
    return g


def grants_of_order(order, vouchers):
    return Grant.objects.filter(event_id=order.event_id).filter(
        Q(voucher_id__in=vouchers) | Q(voucher_original__ended__in=vouchers))


def on_order_changed(order):
    """Any of pretix's order signals (after pretix's commit): follow the grant vouchers the order uses."""
    vouchers = list(OrderPosition.all.filter(order=order, voucher__isnull=False).values_list('voucher_id', flat=True))
    if not vouchers:
        return
    for grant in grants_of_order(order, vouchers):
        if not grant.voucher_id:
            try:
                grant = issuance.notice_order_after_end(grant, vouchers)
            except Exception:
                logger.exception('Noticing order %s for the ended grant %s failed', order.code, grant.pk)
                continue
        try:
            sync_ticket(grant)
        except Exception:
            # never let the plugin break pretix's checkout or back office
            logger.exception('Following the order %s for grant %s failed', order.code, grant.pk)


def on_checkin(checkin):
    position = checkin.position
    if not position.voucher_id:
        return
    for grant in Grant.objects.filter(event_id=position.order.event_id, voucher_id=position.voucher_id):
        try:
            sync_ticket(grant)
        except Exception:
            logger.exception('Recording the check-in for grant %s failed', grant.pk)


def sync_unseen_tickets():
    """
    Grants whose voucher was redeemed before the grant was given it (an organizer's or pretix's existing voucher)
    never saw the order signal: pick those orders up.
    """
    with scopes_disabled():
        unseen = list(Grant.objects.filter(
            status=Grant.STATUS_CONFIRMED, voucher__isnull=False, order_code='',
            voucher__in=Voucher.objects.filter(redeemed__gt=0),
        ).select_related('event'))
        for grant in unseen:
            sync_ticket(grant)
    return len(unseen)


def event_ended(event, at=None):
    return (event.date_to or event.date_from) < (at or now())


def no_shows(event, at=None):
    """After the event: confirmed grants with a ticket order (paid or pending) that was never checked in."""
    return Grant.objects.filter(event=event).no_shows(event, event_ended(event, at))
