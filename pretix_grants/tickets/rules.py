"""
The person's own ticket: what confirming a grant does for someone who already bought a ticket of the grant
product, and the places held for applicants.

Own ticket (setting ``grants_own_ticket``): ``voucher`` (a grant voucher anyway, the core's behaviour), ``refund``,
``keep`` or ``ask``. The person's orders are found by the order's and the attendee's email
(``issuance.own_ticket_positions``). On confirmation the core asks ``hooks.grant_own_ticket``; ``take_over``
answers it inside issuance's transaction, with the grant locked:

- *keep*: no voucher, no refund; the grant says the ticket is the person's own; the grantee is mailed.
- *refund*: no voucher; after commit ``settle`` makes the position free through pretix's ``OrderChangeManager``
  (the ticket stays valid; a pending order becomes paid by pretix's "free" payment when nothing is left to pay)
  and refunds what the order is then overpaid, never more than the position's price, as an ``OrderRefund``:
  to the original payment where its provider refunds automatically (``propose_auto_refunds``), else a refund in
  pretix's "created" state for the organizer to execute as pretix does (bank transfer: its refund export;
  otherwise a manual refund they mark as done).
- *ask*: the grantee chooses on their reply page (refund or keep); until they do, nothing moves.

A refund is made once: the ``OwnTicket`` row is locked while its refund is created and executed; a failed one
(the provider's error) is shown and retried by the organizer on the same ``OrderRefund``.

Held tickets (setting ``grants_hold_tickets``): from the application (``pending``) or the offer (``approved``) a
voucher that blocks one place of the grant product's quota, checked and created under pretix's quota lock as pretix
creates such vouchers, linked to the grant so that issuance upgrades it to the free ticket in place. A full quota
holds nothing and says so. Ending the application without a ticket ends the voucher.
"""
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django_scopes import scope
from pretix.base.i18n import LazyCurrencyNumber
from pretix.base.models import OrderRefund, Voucher
from pretix.base.models.vouchers import generate_codes
from pretix.base.payment import PaymentException
from pretix.base.services.locking import LockTimeoutException, lock_objects
from pretix.base.services.orders import OrderChangeManager, OrderError
from pretix.base.services.placeholders import SimpleFunctionalTextPlaceholder
from pretix.helpers import OF_SELF

from .. import issuance, mails, workflow
from ..models import TICKET_VALID, Grant, GrantMail, OwnTicket, TicketHold

logger = logging.getLogger(__name__)
ZERO = Decimal('0.00')
VOUCHER, REFUND, KEEP, ASK = 'voucher', OwnTicket.HANDLING_REFUND, OwnTicket.HANDLING_KEEP, OwnTicket.HANDLING_ASK
HANDLINGS = (VOUCHER, REFUND, KEEP, ASK)
CHOICES = (REFUND, KEEP)
# the statuses from which a place is held, per setting
HOLD_FROM = {
    'pending': (Grant.STATUS_PENDING, Grant.STATUS_WAITING_LIST, Grant.STATUS_APPROVED),
    'approved': (Grant.STATUS_APPROVED,),
}
# tries of pretix's quota lock (3 seconds each) within the application, and after its commit
HOLD_TRIES = 2
HOLD_TRIES_AFTER_COMMIT = 10
# the statuses that end an application without a ticket
ENDED = (Grant.STATUS_REJECTED, Grant.STATUS_REFUSED, Grant.STATUS_EXPIRED, Grant.STATUS_CANCELLED)


class NotAllowed(Exception):
    """The action is not possible in the own ticket's state; nothing was changed."""


def handling(event):
    value = event.settings.grants_own_ticket
    return value if value in HANDLINGS else VOUCHER


def target_of(grant):
    try:
        return issuance.voucher_target(grant.event, grant)
    except issuance.NeedsAttention:
        return None


def own_positions(grant, target=None):
    """The person's own pending or paid tickets of the grant product (or quota), with their orders."""
    target = target or target_of(grant)
    if target is None:
        return []
    return list(issuance.own_ticket_positions(grant, target).select_related('order', 'item'))


def reason(ot):
    return _('Order {order} is the person\'s own ticket.').format(order=ot.order.code)


# ---------------------------------------------------------------------------------------------------------------
# Confirmation: the core's question (hooks.grant_own_ticket)

def take_over(grant, target):
    """
    The answer to ``hooks.grant_own_ticket`` for the locked, confirmed ``grant``: a reason when the person's own
    order is their ticket (and what the setting says is under way), else None (a voucher is issued).
    """
    h = handling(grant.event)
    if h == VOUCHER:
        return None  # the setting's default: no query, the core issues its voucher as it always has
    ot = OwnTicket.objects.select_for_update(of=OF_SELF).select_related('order').filter(grant=grant).first()
    if ot is not None and ot.state != OwnTicket.STATE_ASKED:
        return reason(ot)  # handled before (a grant confirmed again): never a second refund
    if ot is None:
        positions = own_positions(grant, target)
        if not positions:
            return None
        pos = positions[0]
        ot = OwnTicket.objects.create(grant=grant, order=pos.order, position=pos, handling=h,
                                      state=OwnTicket.STATE_ASKED, price_paid=pos.price)
    _end_hold(grant)
    decide(ot)
    return reason(ot)


def decide(ot, *, user=None, auth=None):
    """Apply the setting, or the grantee's choice, to ``ot`` (locked, waiting); an ``ask`` without choice waits."""
    grant = ot.grant
    what = ot.choice if ot.handling == ASK else ot.handling
    if what == KEEP:
        ot.state = OwnTicket.STATE_KEPT
        ot.save(update_fields=['state', 'modified'])
        _log(ot, 'kept', user=user, auth=auth)
        mails.send(grant, GrantMail.KIND_OWN_TICKET, 'own_ticket_kept', user=user, auth=auth)
    elif what == REFUND:
        ot.state = OwnTicket.STATE_PENDING
        ot.save(update_fields=['state', 'modified'])
        _log(ot, 'refund_planned', user=user, auth=auth)
        pk, organizer = ot.pk, grant.event.organizer
        # after commit, wherever that happens (a worker, a request, a test's captured callbacks): in the scope of
        # the grant's organizer, which is not necessarily active there any more
        transaction.on_commit(lambda: settle(pk, organizer=organizer, user=user, auth=auth))
    else:
        ot.save(update_fields=['modified'])
        _log(ot, 'asked', user=user, auth=auth)


def choose(grant, choice, *, user=None, auth=None):
    """
    The grantee's choice on their reply page (``ask``): refund or keep. On an open offer it also confirms the grant
    (the deadline and the state machine decide, as for the plain confirmation); on a confirmed grant waiting for
    the choice it applies it. Raises ``NotAllowed`` or ``workflow.GrantTransitionError``; nothing changes then.
    """
    if choice not in CHOICES:
        raise NotAllowed(_('Please choose what should happen with your ticket.'))
    with transaction.atomic():
        g = workflow.lock(grant)
        if handling(g.event) != ASK or not g.ticket:
            raise NotAllowed(_('The organizers decide what happens with your ticket.'))
        ot = OwnTicket.objects.select_for_update(of=OF_SELF).filter(grant=g).first()
        if ot is None:
            positions = own_positions(g)
            if not positions:
                raise NotAllowed(_('We found no ticket order of yours.'))
            ot = OwnTicket.objects.create(grant=g, order=positions[0].order, position=positions[0], handling=ASK,
                                          state=OwnTicket.STATE_ASKED, price_paid=positions[0].price)
        if ot.state != OwnTicket.STATE_ASKED:
            raise NotAllowed(_('Your choice has already been made.'))
        ot.choice = choice
        ot.save(update_fields=['choice', 'modified'])
        _log(ot, 'chosen', user=user, auth=auth, extra={'choice': choice})
        if g.status == Grant.STATUS_APPROVED:
            workflow.check_transition(g, Grant.STATUS_CONFIRMED, workflow.GRANTEE)
            workflow.confirm(g, actor=workflow.GRANTEE, user=user, auth=auth)
        elif g.status == Grant.STATUS_CONFIRMED and g.voucher_state == Grant.VOUCHER_OWN_TICKET:
            decide(ot, user=user, auth=auth)
        else:
            raise NotAllowed(_('Your grant cannot be confirmed any more.'))
    grant.take_values_of(g)
    return ot


# ---------------------------------------------------------------------------------------------------------------
# The refund, through pretix's order change and refunds

def settle(pk, *, organizer, user=None, auth=None):
    """
    Make the person's own ticket free and refund what they paid for it, once: under the ``OwnTicket`` row lock,
    an ``OwnTicket`` that is not waiting for its refund is left as it is. Never raises: a failure is recorded.
    """
    with scope(organizer=organizer):
        return _settle(pk, user=user, auth=auth)


def _settle(pk, *, user=None, auth=None):
    try:
        with transaction.atomic():
            ot = _lock(pk)
            if ot.state != OwnTicket.STATE_PENDING or ot.refund_id:
                return ot
            try:
                amount = _make_free(ot, user, auth)
            except OrderError as e:
                return _failed(ot, str(e), user=user, auth=auth)
            ot.price_paid = amount
            if amount == ZERO:
                ot.state = OwnTicket.STATE_FREE
                ot.save(update_fields=['price_paid', 'state', 'modified'])
                _log(ot, 'free', user=user, auth=auth)
                mails.send(ot.grant, GrantMail.KIND_OWN_TICKET, 'own_ticket_free', user=user, auth=auth)
                return ot
            ot.refund = _create_refund(ot, amount, user, auth)
            ot.attempts += 1
            ot.save(update_fields=['price_paid', 'refund', 'attempts', 'modified'])
            return _execute(ot, user=user, auth=auth)
    except Exception:
        logger.exception('Settling the own ticket %s failed', pk)
        return None


def _lock(pk):
    return (OwnTicket.objects.select_for_update(of=OF_SELF)
            .select_related('grant', 'grant__event', 'grant__event__organizer', 'order', 'position', 'refund').get(pk=pk))


def _make_free(ot, user, auth):
    """The position free through pretix's order change; returns what the order is overpaid for it (never more)."""
    order, pos = ot.order, ot.position
    order.refresh_from_db()
    if order.status not in TICKET_VALID or pos is None:
        raise OrderError(_('Order {order} is no longer pending or paid.').format(order=order.code))
    pos.refresh_from_db()
    if pos.canceled:
        raise OrderError(_('The ticket in order {order} has been canceled.').format(order=order.code))
    paid_for_it = pos.price
    if paid_for_it > ZERO:
        ocm = OrderChangeManager(order, user=user, auth=auth, notify=False)
        ocm.change_price(pos, ZERO)
        ocm.commit()
        order.refresh_from_db()
    return max(ZERO, min(paid_for_it, order.payment_refund_sum - order.total))


def _create_refund(ot, amount, user, auth):
    order = ot.order
    comment = _('Grant: the ticket is free for the grantee.')
    proposals = order.propose_auto_refunds(amount)
    if len(proposals) == 1 and sum(proposals.values()) == amount:
        payment = next(iter(proposals))
        refund = order.refunds.create(payment=payment, provider=payment.provider, amount=amount, comment=comment,
                                      source=OrderRefund.REFUND_SOURCE_ADMIN, state=OrderRefund.REFUND_STATE_CREATED)
    else:
        # no payment pretix can refund automatically: a refund the organizer makes and marks as done in pretix
        refund = order.refunds.create(payment=None, provider='manual', amount=amount, comment=comment,
                                      source=OrderRefund.REFUND_SOURCE_ADMIN, state=OrderRefund.REFUND_STATE_CREATED)
    order.log_action('pretix.event.order.refund.created', {'local_id': refund.local_id, 'provider': refund.provider},
                     user=user, auth=auth)
    return refund


def _execute(ot, *, user=None, auth=None):
    """Execute the locked ``ot``'s refund through its provider, as pretix's refund page does."""
    refund = ot.refund
    if refund.provider != 'manual' and refund.state == OrderRefund.REFUND_STATE_CREATED:
        try:
            with transaction.atomic():
                refund.payment_provider.execute_refund(refund)
        except (PaymentException, ValueError) as e:
            refund.refresh_from_db()
            refund.state = OrderRefund.REFUND_STATE_FAILED
            refund.save(update_fields=['state'])
            ot.order.log_action('pretix.event.order.refund.failed', {
                'local_id': refund.local_id, 'provider': refund.provider, 'error': str(e)}, user=user, auth=auth)
            return _failed(ot, str(e), user=user, auth=auth)
    refund.refresh_from_db()
    ot.state, ot.error = OwnTicket.STATE_REFUNDED, ''
    ot.save(update_fields=['state', 'error', 'modified'])
    _log(ot, 'refunded', user=user, auth=auth, extra={'refund_state': refund.state})
    mails.send(ot.grant, GrantMail.KIND_OWN_TICKET, 'own_ticket_refunded', user=user, auth=auth)
    return ot


def _failed(ot, error, *, user=None, auth=None):
    ot.state, ot.error = OwnTicket.STATE_FAILED, error[:1000]
    ot.save(update_fields=['state', 'error', 'modified'])
    _log(ot, 'refund_failed', user=user, auth=auth, extra={'error': ot.error})
    return ot


def retry(ot, *, user=None, auth=None):
    """
    The organizer tries a failed refund again: the same ``OrderRefund`` (or, where the order change failed, the
    whole settlement), once, however often this is called at the same time. Raises ``NotAllowed`` otherwise.
    """
    with transaction.atomic():
        ot = _lock(ot.pk)
        if ot.state != OwnTicket.STATE_FAILED:
            raise NotAllowed(_('Only a failed refund can be tried again.'))
        ot.state, ot.error = OwnTicket.STATE_PENDING, ''
        _log(ot, 'refund_retried', user=user, auth=auth)
        if ot.refund is None:
            ot.save(update_fields=['state', 'error', 'modified'])
        else:
            ot.refund.state = OrderRefund.REFUND_STATE_CREATED
            ot.refund.save(update_fields=['state'])
            ot.attempts += 1
            ot.save(update_fields=['state', 'error', 'attempts', 'modified'])
            return _execute(ot, user=user, auth=auth)
    return _settle(ot.pk, user=user, auth=auth)


def _log(ot, what, *, user=None, auth=None, extra=None):
    """On the grant and on the order, without personal data."""
    data = {'order': ot.order.code, 'amount': str(ot.price_paid), 'state': ot.state, **(extra or {})}
    if ot.refund_id:
        data['refund'] = ot.refund.local_id
    ot.grant.log_action(f'pretix_grants.grant.own_ticket.{what}', data=data, user=user, auth=auth)
    if what not in ('asked', 'chosen'):
        ot.order.log_action(f'pretix_grants.order.own_ticket.{what}', data={**data, 'grant': ot.grant_id},
                            user=user, auth=auth)


# ---------------------------------------------------------------------------------------------------------------
# Held tickets

def hold_due(grant):
    return grant.status in HOLD_FROM.get(grant.event.settings.grants_hold_tickets or '', ())


def hold(grant, *, user=None, auth=None):
    """
    Hold a place for ``grant``'s applicant, if the setting says so and none is held: a voucher blocking one place
    of the grant product's quota, created under pretix's quota lock only if the quota has that place. Returns
    the ``TicketHold`` (``full`` where no place was left) or None.
    """
    with transaction.atomic():
        g = workflow.lock(grant)
        if not hold_due(g) or not g.ticket or g.voucher_id:
            return None
        h = TicketHold.objects.select_for_update(of=OF_SELF).filter(grant=g).first()
        if h is not None and h.state in (TicketHold.STATE_HELD, TicketHold.STATE_USED):
            return h
        target = target_of(g)
        if target is None or own_positions(g, target):
            return None  # no grant product yet, or their own ticket holds their place
        data = {'block_quota': True, 'valid_until': target.valid_until, 'allow_ignore_quota': False,
                'subevent': target.subevent}
        h = h or TicketHold(grant=g)
        try:
            # takes pretix's lock on the quotas, as pretix's own voucher creation does, and counts what they hold
            Voucher.clean_quota_check(data, 1, None, g.event, target.quota, target.item, target.variation)
        except ValidationError:
            h.state, h.voucher = TicketHold.STATE_FULL, None
            h.save()
            g.log_action('pretix_grants.grant.ticket_hold.full', data={}, user=user, auth=auth)
            return h
        v = Voucher.objects.create(
            event=g.event, code=generate_codes(g.event.organizer, 1)[0], max_usages=1, price_mode='none',
            item=target.item, variation=target.variation, quota=target.quota, subevent=target.subevent,
            valid_until=target.valid_until, block_quota=True, show_hidden_items=True, tag=target.tag,
            comment=_('Ticket held for grant #{grant}').format(grant=g.pk),
        )
        v.log_action('pretix.voucher.added', data={'block_quota': True, 'max_usages': 1, 'source': 'pretix_grants',
                                                   'grant': g.pk}, user=user, auth=auth)
        h.state, h.voucher = TicketHold.STATE_HELD, v
        h.save()
        g.voucher = v  # issuance upgrades it in place to the grant's free ticket: the held place is theirs
        g.save(update_fields=['voucher', 'modified'])
        g.log_action('pretix_grants.grant.ticket_hold.held', data={'voucher': v.pk, 'code': v.code},
                     user=user, auth=auth)
    grant.take_values_of(g)
    return h


def follow_status(grant, new_status):
    """A grant's status changed: an ended application gives its held place back, an offer holds one if due."""
    if new_status in ENDED:
        release(grant)
    elif hold_due(grant):
        hold(grant)


def hold_with_application(grant):
    """
    ``hold`` in the application's own transaction, so the place is held with it. pretix's quota lock gives up
    after a few seconds when many take it at once (as in its checkout): then a few more tries in a savepoint,
    and the last ones after the application's commit, so an application is never refused for it.
    """
    for attempt in range(HOLD_TRIES):
        try:
            with transaction.atomic():
                return hold(grant)
        except LockTimeoutException:
            logger.info('The quota lock was busy while holding a ticket for grant %s (try %s)', grant.pk, attempt + 1)
    organizer = grant.event.organizer

    def later():
        with scope(organizer=organizer):
            for attempt in range(HOLD_TRIES_AFTER_COMMIT):
                try:
                    return hold(grant)
                except LockTimeoutException:
                    continue
            logger.warning('No ticket could be held for grant %s: the quota lock stayed busy', grant.pk)

    transaction.on_commit(later)
    return None


def release(grant, *, user=None, auth=None):
    """The application ended without a ticket: the held place goes back to the quota."""
    with transaction.atomic():
        g = workflow.lock(grant)
        if _end_hold(g, user=user, auth=auth):
            g.save(update_fields=['voucher', 'modified'])
    grant.take_values_of(g)


def _end_hold(g, *, user=None, auth=None):
    """
    End the held voucher of the locked grant ``g`` unless it became the grant's ticket or an order holds it.
    Returns whether ``g.voucher`` was let go (the caller saves it).
    """
    h = TicketHold.objects.select_for_update(of=OF_SELF).filter(grant=g, state=TicketHold.STATE_HELD).first()
    if h is None:
        return False
    v, unlinked = h.voucher, False
    if v is not None:
        if g.voucher_id == v.pk and g.voucher_state in Grant.VOUCHER_STATES_DONE:
            return False  # the grant's voucher now
        lock_objects([v], shared_lock_objects=[g.event])
        v = Voucher.objects.select_for_update(of=OF_SELF).get(pk=v.pk)
        if issuance.valid_positions(v).exists():
            h.state = TicketHold.STATE_USED
            h.save(update_fields=['state', 'modified'])
            return False
        if g.voucher_id == v.pk:
            g.voucher, unlinked = None, True
        v.valid_until = now()
        v.max_usages = v.redeemed
        v.save(update_fields=['valid_until', 'max_usages'])
        v.log_action('pretix.voucher.changed', data={'valid_until': v.valid_until.isoformat(),
                                                     'max_usages': v.max_usages, 'source': 'pretix_grants',
                                                     'grant': g.pk}, user=user, auth=auth)
    h.state = TicketHold.STATE_RELEASED
    h.save(update_fields=['state', 'modified'])
    g.log_action('pretix_grants.grant.ticket_hold.released', data={}, user=user, auth=auth)
    return unlinked


# --- mail placeholders --------------------------------------------------------------------------------------------

def _own(grant):
    return OwnTicket.objects.filter(grant=grant).select_related('order').first() if grant is not None else None


def placeholders():
    """The own-ticket mails' placeholders: the order and what is refunded of it."""
    return [
        SimpleFunctionalTextPlaceholder(
            'own_ticket_order', ['grant'], lambda grant: _own(grant).order.code if _own(grant) else '', 'ABC12'),
        SimpleFunctionalTextPlaceholder(
            'own_ticket_refund', ['event', 'grant'],
            lambda event, grant: str(LazyCurrencyNumber(_own(grant).price_paid, event.currency)) if _own(grant) else '',
            lambda event: str(LazyCurrencyNumber(Decimal('200.00'), event.currency))),
    ]
