"""
Voucher issuance: the one place where a grant gets, keeps or gives back a pretix voucher.

Shaped like pretix's ``WaitingListEntry.send_voucher``: one transaction, the grant's row locked, availability
checked the way pretix checks it, the voucher written and logged, the mail queued in the same transaction.

The invariant: a grant whose voucher state is issued, linked or upgraded buys exactly one ticket of the grant
product at 0.00 through pretix's checkout; ending the grant gives the person back exactly what they had, or marks
the grant "needs attention" with the reason and changes nothing.

Voucher rules (which of the person's own vouchers a grant may use):

- Only a voucher that applies to the grant product is a candidate (same quota when the grant vouchers are for a
  quota; the product, or the product and variation, or all products otherwise; no other date of an event series).
  Vouchers for other products are never touched.
- It is used *as it is* (``linked``) if pretix already prices it at 0.00 for the grant product, it is valid, and
  it has exactly one use left; it is *upgraded in place* (``upgraded``) if it has exactly one use left
  (``max_usages - redeemed - carts == 1``). In both cases it must have no ``budget`` (pretix caps the discount at
  the budget), no ``min_usages`` above 1, no seat, and show hidden products if the grant product is hidden.
- Any other voucher of the person (several uses, a budget, ...) is left untouched and the grant gets a new voucher
  of its own. A voucher the person already used for the grant product makes the grant "needs attention": they
  hold a ticket already. An organizer linking a voucher that does not qualify is told why, and nothing changes.
- Ending the grant: a voucher the plugin made is ended (made unusable, never deleted under a live shop) while no
  order holds it; an upgraded one gets its old
  values back, but only if no new order holds it, nobody edited it since the upgrade, and (if it blocks quota) the
  quota still has room; otherwise the grant needs attention with the reason. "Used" is judged by the order
  positions that hold the voucher in a pending or paid order, not by ``redeemed`` counters.
- A voucher deleted in pretix, or edited there so that it no longer gives the grant's free ticket before the grant
  used it, makes its grant "needs attention"; an organizer can issue again (control panel, API).

Lock order, the same as pretix's checkout: pretix's ``lock_objects`` (voucher, quotas; the event shared) first,
then rows. The plugin takes the grant's row, then ``lock_objects``, then the voucher's row; pretix's checkout
takes ``lock_objects`` and the voucher row and never the grant's: the plugin follows orders (``lifecycle``) only
after pretix's transaction committed, so a checkout and a refusal never wait on each other in a circle.
"""
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled
from pretix.base.models import (
    CartPosition, Item, ItemVariation, LogEntry, OrderPosition, Quota,
    SubEvent, Voucher,
)
from pretix.base.models.vouchers import generate_codes
from pretix.base.services.locking import lock_objects
from pretix.helpers import OF_SELF

from . import mails, models
from .hooks import grant_mails_owed, grant_own_ticket
from .models import TICKET_VALID, Grant, GrantMail

logger = logging.getLogger(__name__)
ZERO = Decimal('0.00')
# The voucher fields an in-place upgrade changes, and so the ones a release restores.
UPGRADED_FIELDS = ('price_mode', 'value', 'item_id', 'variation_id', 'quota_id', 'max_usages', 'valid_until',
                   'block_quota', 'subevent_id')


class NeedsAttention(Exception):
    """Issuing would be wrong or impossible; an organizer has to look at this grant (and at ``voucher``)."""

    def __init__(self, message, voucher=None):
        super().__init__(message)
        self.voucher = voucher


@dataclass
class Target:
    """What a grant voucher is valid for, from the event's grant settings."""
    item: Optional[Item]
    variation: Optional[ItemVariation]
    quota: Optional[Quota]
    valid_until: object
    tag: str
    block_quota: bool
    subevent: Optional[SubEvent] = None

    def prices(self):
        if self.variation:
            return [self.variation.price]
        if self.item:
            return [self.item.default_price]
        return [i.default_price for i in self.quota.items.all()] + [v.price for v in self.quota.variations.all()]

    def quotas(self):
        return Voucher.get_affected_quotas(self.quota, self.item, self.variation, self.subevent)

    def item_ids(self):
        """The products a ticket of the grant product (or of its quota) can be."""
        if self.item:
            return [self.item.pk]
        return list(self.quota.items.values_list('pk', flat=True))

    def hidden(self):
        return bool(self.item and self.item.hide_without_voucher)


def voucher_valid_until(event):
    """Until when a grant's (or a speaker's) voucher is valid: the grant settings' date, else the event's end."""
    rel = event.settings.grants_voucher_valid_until
    return rel.datetime(event) if rel else (event.date_to or event.date_from)


def voucher_target(event, grant=None) -> Target:
    s = event.settings
    item = variation = quota = None
    if s.grants_voucher_quota:
        quota = event.quotas.filter(pk=s.grants_voucher_quota).first()
    elif s.grants_voucher_item:
        # has_variations in the same query (pretix's cached_property would ask again)
        item = event.items.filter(pk=s.grants_voucher_item).annotate(
            has_variations=Exists(ItemVariation.objects.filter(item=OuterRef('pk')))).first()
        if item and s.grants_voucher_variation:
            variation = item.variations.filter(pk=s.grants_voucher_variation).first()
    if not item and not quota:
        raise NeedsAttention(_('No product or quota is set for grant vouchers in the grant settings.'))
    if item and item.has_variations and not variation:
        raise NeedsAttention(_('The product for grant vouchers has variations: choose one in the grant settings.'))
    valid_until = voucher_valid_until(event)
    subevent = grant.subevent if grant is not None and grant.subevent_id else None
    if event.has_subevents and subevent is None and s.grants_voucher_block_quota:
        raise NeedsAttention(_('The event is an event series: choose the date of this grant to issue its voucher.'))
    if subevent is not None and quota is not None and quota.subevent_id and quota.subevent_id != subevent.pk:
        raise NeedsAttention(_('The quota for grant vouchers is for another date than this grant.'))
    return Target(item=item, variation=variation, quota=quota, valid_until=valid_until,
                  tag=s.grants_voucher_tag or '', block_quota=bool(s.grants_voucher_block_quota), subevent=subevent)


def sent_voucher_ids(event, email):
    """Vouchers of this event that pretix's own "send by email" recorded as sent to ``email``."""
    needle = json.dumps(email.lower())[1:-1]
    entries = LogEntry.objects.filter(
        event=event,
        content_type=ContentType.objects.get_for_model(Voucher),
        action_type='pretix.voucher.sent',
        data__icontains=needle,
    ).values_list('object_id', 'data')
    return [pk for pk, data in entries if (json.loads(data).get('recipient') or '').strip().lower() == email.lower()]


def applies_to_grant(voucher, target):
    """Whether ``voucher`` is for the grant product (or quota), and for the grant's date in an event series."""
    if voucher.subevent_id and voucher.subevent_id != (target.subevent.pk if target.subevent else None):
        return False
    if voucher.quota_id:
        return bool(target.quota) and voucher.quota_id == target.quota.pk
    if voucher.item_id:
        return not target.quota and voucher.applies_to(target.item, target.variation)
    return True  # all products


def valid_positions(voucher):
    """The order positions that hold ``voucher`` now: not canceled, in a pending or paid order."""
    return OrderPosition.objects.filter(voucher=voucher, order__status__in=TICKET_VALID)


def voucher_used(grant):
    """Whether an order holds the grant's voucher (beyond the orders that held an upgraded one before)."""
    if not grant.voucher_id:
        return False
    positions = valid_positions(grant.voucher_id)
    if grant.voucher_state == Grant.VOUCHER_UPGRADED:
        positions = positions.exclude(pk__in=(grant.voucher_original or {}).get('positions', []))
    return positions.exists()


def _uses_left(voucher):
    """As pretix's order creation counts them: uses not redeemed and not held in a cart."""
    carts = CartPosition.objects.filter(voucher=voucher, expires__gte=now()).count()
    return voucher.max_usages - voucher.redeemed - carts


def _is_used_up(voucher):
    return _uses_left(voucher) <= 0


def _gives_free_ticket(voucher, target):
    return applies_to_grant(voucher, target) and all(voucher.calculate_price(p) == ZERO for p in target.prices())


def why_not_in_place(voucher, target):
    """
    None if ``voucher`` may become (or stay) the grant's one free ticket in place, else the reason it may not.
    See the voucher rules in this module's docstring.
    """
    if not applies_to_grant(voucher, target):
        return _('Voucher {code} is not valid for the grant product.').format(code=voucher.code)
    left = _uses_left(voucher)
    if left != 1:
        return _('Voucher {code} has {n} unused uses left; a grant voucher buys exactly one ticket.').format(
            code=voucher.code, n=max(left, 0))
    return _terms_problem(voucher, target)


def _terms_problem(voucher, target):
    """What, besides its uses and its product, keeps ``voucher`` from being one whole free ticket; else None."""
    if voucher.budget is not None:
        return _('Voucher {code} has a budget, which would cap the free ticket\'s discount.').format(code=voucher.code)
    if (voucher.min_usages or 1) > 1:
        return _('Voucher {code} must be used for several tickets at once.').format(code=voucher.code)
    if voucher.seat_id:
        return _('Voucher {code} is bound to a seat.').format(code=voucher.code)
    if target.hidden() and not voucher.show_hidden_items:
        return _('Voucher {code} does not show the hidden grant product.').format(code=voucher.code)
    return None


def existing_voucher(grant, target):
    """
    The voucher this person already holds in this event, if any: the one an organizer linked to the grant, else
    the best of those pretix sent to their email (a usable free one, then an unused one, then a redeemed one).
    """
    if grant.voucher_id:
        return Voucher.objects.filter(pk=grant.voucher_id).first()
    candidates = list(
        Voucher.objects.filter(event=grant.event, pk__in=sent_voucher_ids(grant.event, grant.email), grant__isnull=True)
        .exclude(pk=_let_go(grant)).order_by('pk')
    )
    return _best_voucher(candidates, target)


def _let_go(grant):
    """The voucher this grant ended or let go as an organizer left it: never its ticket again (or None)."""
    return (grant.voucher_original or {}).get('ended')


def _best_voucher(candidates, target):
    """Of the person's vouchers for the grant product: a free one, then one to upgrade, then one they used."""
    candidates = [v for v in candidates if applies_to_grant(v, target)]
    for test in (lambda v: v.is_active() and _gives_free_ticket(v, target) and not why_not_in_place(v, target),
                 lambda v: not why_not_in_place(v, target),
                 lambda v: _is_used_up(v)):
        for v in candidates:
            if test(v):
                return v
    return None  # none, or none that qualifies: a new voucher, theirs untouched


def _order_code(voucher):
    order = voucher.distinct_orders().order_by('-datetime').first()
    return order.code if order else '?'


def _voucher_values(voucher):
    return {f: getattr(voucher, f) for f in UPGRADED_FIELDS}


def _jsonable(values):
    return json.loads(json.dumps(values, default=str))


def issue_voucher(grant, *, event=None, user=None, auth=None):
    """
    Give a confirmed grant (a ``Grant`` or its pk) its free-ticket voucher and mail it, exactly once.

    Safe to call any number of times, from any number of workers at once: the grant's row lock serialises them,
    and a grant that has its voucher is returned unchanged. Returns the grant as it is afterwards.
    """
    pk = grant.pk if isinstance(grant, Grant) else grant
    event = event or (grant.event if isinstance(grant, Grant) else None)
    with transaction.atomic():
        if event is None:
            g = Grant.objects.select_for_update(of=OF_SELF).select_related('event', 'event__organizer').get(pk=pk)
        else:
            # reuse the caller's event: its settings are loaded already
            g = Grant.objects.select_for_update(of=OF_SELF).get(pk=pk, event=event)
            g.event = event
        if not g.is_due_for_voucher():
            return g
        try:
            target = voucher_target(g.event, g)
        except NeedsAttention as e:
            _flag(g, str(e), voucher=e.voucher, user=user, auth=auth)
            return g
        if _own_ticket(g, target, user=user, auth=auth):
            return g
        _issue_locked(g, target, existing_voucher(g, target), user=user, auth=auth)
    return g


def _own_ticket(g, target, *, user=None, auth=None):
    """
    Whether the locked grant ``g``'s person holds a ticket that needs no voucher (``hooks.grant_own_ticket``); if
    so the grant records it, and gets no voucher.
    """
    reasons = [r for receiver, r in grant_own_ticket.send(g.event, grant=g, target=target) if r]
    if not reasons:
        return False
    g.voucher_state, g.voucher_attention = Grant.VOUCHER_OWN_TICKET, ''
    g.save(update_fields=['voucher', 'voucher_state', 'voucher_attention', 'modified'])
    g.log_action('pretix_grants.grant.voucher.own_ticket', data={'reason': str(reasons[0])}, user=user, auth=auth)
    return True


def holding_own_ticket(event, grants):
    """Of ``grants`` (of ``event``), those whose person holds their own ticket of the grant product (or quota)."""
    try:
        target = voucher_target(event)
    except NeedsAttention:
        return grants.none()
    return grants.holding_own_ticket(target.item_ids())


def own_ticket_positions(grant, target):
    """The person's own pending or paid order positions of the grant product (or quota), first bought first."""
    return models.own_ticket_positions(grant.event, grant.email, target.item_ids(),
                                       target.subevent.pk if target.subevent else None).order_by('order__datetime', 'pk')


def _issue_locked(g, target, voucher, *, user=None, auth=None):
    """Issue for the locked grant ``g``, given the voucher the person already holds (or ``None``)."""
    try:
        if voucher is None:
            voucher, state = _create_voucher(g, target, user, auth), Grant.VOUCHER_ISSUED
        elif _is_used_up(voucher):
            raise NeedsAttention(
                _('This person\'s voucher {code} has already been redeemed (order {order}); no new voucher '
                  'was issued.').format(code=voucher.code, order=_order_code(voucher)),
                voucher=voucher,
            )
        elif why_not_in_place(voucher, target):
            # only an organizer-linked voucher gets here (sent ones that do not qualify are passed by)
            raise NeedsAttention(str(why_not_in_place(voucher, target)), voucher=voucher)
        elif voucher.is_active() and _gives_free_ticket(voucher, target):
            state = Grant.VOUCHER_LINKED
        else:
            voucher, state = _upgrade_voucher(g, voucher, target, user, auth), Grant.VOUCHER_UPGRADED
    except NeedsAttention as e:
        _flag(g, str(e), voucher=e.voucher, user=user, auth=auth)
        return g

    g.voucher = voucher
    g.voucher_state = state
    g.voucher_attention = ''
    g.save(update_fields=['voucher', 'voucher_state', 'voucher_attention', 'voucher_original', 'modified'])
    g.log_action(f'pretix_grants.grant.voucher.{state}', data={'voucher': voucher.pk, 'code': voucher.code},
                 user=user, auth=auth)
    mails.send_voucher(g, user=user, auth=auth)
    return g


BATCH_SIZE = 500


def issue_vouchers(event, grant_ids, *, user=None, auth=None, batch_size=BATCH_SIZE):
    """
    ``issue_voucher`` for many grants of ``event`` at once, with the same guarantees, in transactions of
    ``batch_size`` grants: the batch's rows are locked (in pk order, so two runs over the same grants never
    deadlock), grants that are done or not due are left as they are, a person's existing voucher is linked or
    upgraded per grant as ``issue_voucher`` does (and mailed at once), and the new vouchers of the rest are
    written with one code lookup and bulk inserts, each with its voucher mail owed in the same transaction and
    handed to pretix's ``mail()`` by a worker after commit (``mails.deliver_owed``, exactly once). A quota too
    small for the whole batch is handled one grant at a time, so as many get a voucher as fit and the rest need
    attention.
    Returns ``{pk: grant}`` for the grants of ``event`` among ``grant_ids``, as they are afterwards.
    """
    ids = sorted(set(grant_ids))
    result = {}
    for start in range(0, len(ids), batch_size):
        result.update(_issue_batch(event, ids[start:start + batch_size], user, auth))
    return result


def _held_vouchers(event, grants, target):
    """The voucher each grant's person already holds, as ``existing_voucher`` finds it, in a few queries."""
    held = {}
    linked = Voucher.objects.in_bulk([g.voucher_id for g in grants if g.voucher_id])
    for g in grants:
        if g.voucher_id:
            held[g.pk] = linked[g.voucher_id]
    emails = {g.email.lower(): g for g in grants if not g.voucher_id}
    if not emails:
        return held
    sent = LogEntry.objects.filter(
        event=event, content_type=ContentType.objects.get_for_model(Voucher), action_type='pretix.voucher.sent',
    ).values_list('object_id', 'data')
    by_voucher = {}
    for pk, data in sent:
        recipient = (json.loads(data).get('recipient') or '').strip().lower()
        if recipient in emails:
            by_voucher[pk] = recipient
    if not by_voucher:
        return held
    candidates = {}
    for v in Voucher.objects.filter(event=event, pk__in=by_voucher, grant__isnull=True).order_by('pk'):
        if v.pk != _let_go(emails[by_voucher[v.pk]]):
            candidates.setdefault(by_voucher[v.pk], []).append(v)
    for email, vouchers in candidates.items():
        best = _best_voucher(vouchers, target)
        if best is not None:
            held[emails[email].pk] = best
    return held


def _issue_batch(event, ids, user, auth):
    with transaction.atomic():
        grants = list(Grant.objects.select_for_update(of=OF_SELF).filter(event=event, pk__in=ids).order_by('pk'))
        for g in grants:
            g.event = event
        due = [g for g in grants if g.is_due_for_voucher()]
        dated = [g for g in due if g.subevent_id]
        due = [g for g in due if not g.subevent_id]
        for g in dated:  # a date of an event series: its own target, one by one
            try:
                dated_target = voucher_target(event, g)
            except NeedsAttention as e:
                _flag(g, str(e), user=user, auth=auth)
                continue
            if not _own_ticket(g, dated_target, user=user, auth=auth):
                _issue_locked(g, dated_target, existing_voucher(g, dated_target), user=user, auth=auth)
        if not due:
            return {g.pk: g for g in grants}
        # the grants without a date share one target (and its reason, where there is none, flags only them)
        try:
            target = voucher_target(event)
        except NeedsAttention as e:
            for g in due:
                _flag(g, str(e), user=user, auth=auth)
            return {g.pk: g for g in grants}
        due = [g for g in due if not _own_ticket(g, target, user=user, auth=auth)]
        held = _held_vouchers(event, due, target)
        fresh = []
        for g in due:
            if g.pk in held:
                _issue_locked(g, target, held[g.pk], user=user, auth=auth)
            else:
                fresh.append(g)
        if fresh:
            try:
                _check_quota(event, _new_voucher_data(target), None, target, count=len(fresh))
            except NeedsAttention:
                # not enough left for all of them: one by one, so as many as fit get theirs
                for g in fresh:
                    _issue_locked(g, target, None, user=user, auth=auth)
            else:
                _create_vouchers(event, fresh, target, user, auth)
    return {g.pk: g for g in grants}


def _create_vouchers(event, grants, target, user, auth):
    vouchers = [_new_voucher(g, target, code) for g, code in zip(grants, generate_codes(event.organizer, len(grants)))]
    Voucher.objects.bulk_create(vouchers, batch_size=500)
    event.cache.set('vouchers_exist', True)  # what Voucher.save does
    if any(v.pk is None for v in vouchers):  # a database that cannot return the new rows' ids
        pks = dict(Voucher.objects.filter(event=event, code__in=[v.code for v in vouchers]).values_list('code', 'pk'))
        for v in vouchers:
            v.pk = pks[v.code]
    batch = mails.Batch()
    stamp = now()
    for g, v in zip(grants, vouchers):
        batch.logs.append(v.log_action('pretix.voucher.added', data=_added_log_data(g, target), user=user, auth=auth,
                                       save=False))
        g.voucher, g.voucher_state, g.voucher_attention, g.modified = v, Grant.VOUCHER_ISSUED, '', stamp
    _set_vouchers(grants, stamp)
    for g, v in zip(grants, vouchers):
        batch.logs.append(g.log_action(f'pretix_grants.grant.voucher.{Grant.VOUCHER_ISSUED}',
                                       data={'voucher': v.pk, 'code': v.code}, user=user, auth=auth, save=False))
        # pretix's mail() renders each mail (markdown, HTML, CSS inlining: most of a voucher's cost), so it runs in
        # the workers after commit; the owed record commits with the voucher and makes it happen exactly once
        mails.owe_voucher(g, batch)
    records = batch.records
    batch.save()
    if any(r.pk is None for r in records):  # a database that cannot return the new rows' ids
        records = list(GrantMail.objects.filter(grant__in=grants, pending=True))
    announce_owed_mails(event, [r.pk for r in records])


def _set_vouchers(grants, stamp):
    """
    Give each grant its new voucher in one statement per 500 grants. Django's ``bulk_update`` builds a CASE
    expression per row in Python, which took a fifth of a batch's time; ``UPDATE ... FROM (VALUES ...)`` says the
    same, and PostgreSQL and SQLite (3.33 and newer) both run it.
    """
    table = connection.ops.quote_name(Grant._meta.db_table)
    for start in range(0, len(grants), 500):
        chunk = grants[start:start + 500]
        rows = ', '.join(['(%s, %s)'] * len(chunk))
        params = [Grant.VOUCHER_ISSUED, '', connection.ops.adapt_datetimefield_value(stamp)]
        for g in chunk:
            params += [g.pk, g.voucher.pk]
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE {table} SET voucher_state = %s, voucher_attention = %s, modified = %s, '
                f'voucher_id = new.column2 FROM (VALUES {rows}) AS new WHERE {table}.id = new.column1',
                params,
            )


def announce_owed_mails(event, record_ids):
    """After commit, tell ``grant_mails_owed`` (``tasks`` delivers them in workers)."""
    if 'locmem' in settings.EMAIL_BACKEND:
        # as pretix's mail() does under test settings, where on_commit never fires: hand them over at once
        grant_mails_owed.send(event, record_ids=record_ids)
    else:
        transaction.on_commit(lambda: grant_mails_owed.send(event, record_ids=record_ids))


def _flag(grant, reason, *, voucher=None, user=None, auth=None, also=()):
    """The grant needs attention for ``reason``; ``also`` names other fields the caller changed on it."""
    grant.voucher_state = Grant.VOUCHER_NEEDS_ATTENTION
    grant.voucher_attention = reason
    fields = ['voucher_state', 'voucher_attention', 'modified', *also]
    if voucher is not None and grant.voucher_id is None and not Grant.objects.filter(voucher=voucher).exists():
        grant.voucher = voucher
        fields.append('voucher')
    grant.save(update_fields=fields)
    grant.log_action('pretix_grants.grant.voucher.needs_attention', data={'reason': reason}, user=user, auth=auth)


def _check_quota(event, data, old_instance, target, count=1):
    try:
        if Voucher.clean_quota_needs_checking(data, old_instance, item_changed=True, creating=old_instance is None):
            Voucher.clean_quota_check(data, count, old_instance, event, target.quota, target.item, target.variation)
    except ValidationError:
        raise NeedsAttention(_('No quota is left for the grant voucher\'s product; no voucher was issued.'))


def _new_voucher_data(target):
    return {'block_quota': target.block_quota, 'valid_until': target.valid_until, 'allow_ignore_quota': False,
            'subevent': target.subevent}


def _new_voucher(grant, target, code):
    return Voucher(
        event=grant.event,
        code=code,
        max_usages=1,
        price_mode='set',
        value=ZERO,
        item=target.item,
        variation=target.variation,
        quota=target.quota,
        valid_until=target.valid_until,
        tag=target.tag,
        block_quota=target.block_quota,
        subevent=target.subevent,
        comment=_('Grant for {name} <{email}>').format(name=grant.name, email=grant.email),
    )


def _added_log_data(grant, target):
    return {
        'item': target.item.pk if target.item else None,
        'variation': target.variation.pk if target.variation else None,
        'quota': target.quota.pk if target.quota else None,
        'price_mode': 'set',
        'value': '0.00',
        'tag': target.tag,
        'block_quota': target.block_quota,
        'valid_until': target.valid_until.isoformat() if target.valid_until else None,
        'max_usages': 1,
        'subevent': target.subevent.pk if target.subevent else None,
        'source': 'pretix_grants',
        'grant': grant.pk,
    }


def _create_voucher(grant, target, user, auth):
    _check_quota(grant.event, _new_voucher_data(target), None, target)
    v = _new_voucher(grant, target, generate_codes(grant.event.organizer, 1)[0])
    v.save()
    v.log_action('pretix.voucher.added', data=_added_log_data(grant, target), user=user, auth=auth)
    return v


def _upgrade_voucher(grant, voucher, target, user, auth):
    """Make the person's own code a free ticket, remembering what it was so a release can restore it."""
    event = grant.event
    lock_objects([voucher] + [q for q in target.quotas() if q.size is not None], shared_lock_objects=[event])
    voucher = Voucher.objects.select_for_update(of=OF_SELF).get(pk=voucher.pk)
    if _is_used_up(voucher):
        raise NeedsAttention(_('This person\'s voucher {code} has just been redeemed (order {order}).').format(
            code=voucher.code, order=_order_code(voucher)), voucher=voucher)
    reason = why_not_in_place(voucher, target)
    if reason:
        raise NeedsAttention(str(reason), voucher=voucher)
    old = Voucher.objects.get(pk=voucher.pk)

    if voucher.valid_until and target.valid_until:
        valid_until = max(voucher.valid_until, target.valid_until)
    else:
        valid_until = None if voucher.valid_until is None else target.valid_until
    new = {
        'price_mode': 'set',
        'value': ZERO,
        'item_id': target.item.pk if target.item else None,
        'variation_id': target.variation.pk if target.variation else None,
        'quota_id': target.quota.pk if target.quota else None,
        'max_usages': voucher.max_usages,  # exactly one use left (why_not_in_place), and it stays one
        'valid_until': valid_until,
        'block_quota': voucher.block_quota or target.block_quota,
        'subevent_id': target.subevent.pk if target.subevent else voucher.subevent_id,
    }
    _check_quota(event, {'block_quota': new['block_quota'], 'valid_until': valid_until, 'subevent': target.subevent
                         or voucher.subevent, 'allow_ignore_quota': voucher.allow_ignore_quota}, old, target)

    original = dict(_voucher_values(voucher), redeemed=voucher.redeemed)
    for k, v in new.items():
        setattr(voucher, k, v)
    voucher.save(update_fields=[*new.keys()])
    # what it was, what the plugin set (a release restores only if nobody changed it since), and the orders that
    # held it already (a release judges "used meanwhile" by new orders only)
    grant.voucher_original = _jsonable({
        **original, 'set': _voucher_values(voucher),
        'positions': list(valid_positions(voucher).values_list('pk', flat=True)),
    })
    voucher.log_action('pretix.voucher.changed', data=_jsonable({
        **{k.removesuffix('_id'): v for k, v in new.items()},
        'source': 'pretix_grants',
        'grant': grant.pk,
        'previous': {k.removesuffix('_id'): v for k, v in original.items()},
    }), user=user, auth=auth)
    return voucher


def _restore_values(voucher, original):
    field = Voucher._meta.get_field
    for k in UPGRADED_FIELDS:
        if k in original:
            setattr(voucher, k, field(k.removesuffix('_id')).to_python(original[k]))


def _edited_since(voucher, original):
    """The fields somebody changed after the plugin's upgrade, by comparing with what the plugin set."""
    was_set = original.get('set')
    if was_set is None:
        return []
    now_values = _jsonable(_voucher_values(voucher))
    return [k for k in UPGRADED_FIELDS if k in was_set and now_values[k] != was_set[k]]


def _restore_refusal(voucher, original, event):
    """None if the upgraded voucher can get its old values back now, else why not (nothing is changed then)."""
    new_orders = valid_positions(voucher).exclude(pk__in=original.get('positions', []))
    if new_orders.exists():
        return _('The grant ended, but the upgraded voucher {code} was already used in order {order}.').format(
            code=voucher.code, order=new_orders.select_related('order').first().order.code)
    edited = _edited_since(voucher, original)
    if edited:
        return _('The grant ended, but voucher {code} was edited since the upgrade ({fields}); its old values were '
                 'not restored.').format(code=voucher.code, fields=', '.join(f.removesuffix('_id') for f in edited))
    restored = Voucher(event=event)
    _restore_values(restored, original)
    data = {'block_quota': restored.block_quota, 'valid_until': restored.valid_until,
            'subevent': restored.subevent, 'allow_ignore_quota': voucher.allow_ignore_quota}
    try:
        if Voucher.clean_quota_needs_checking(data, voucher, item_changed=True, creating=False):
            Voucher.clean_quota_check(data, 1, voucher, event, restored.quota, restored.item, restored.variation)
    except ValidationError:
        return _('The grant ended, but voucher {code} blocked quota before the upgrade and the quota is full now; '
                 'its old values were not restored.').format(code=voucher.code)
    return None


def end_voucher(voucher, source, *, user=None, auth=None):
    """
    End an unused voucher (a grant's or a speaker's; locked by the caller): its carts go, it is valid until now and
    has no use left. Ended, not deleted: a checkout that read the voucher before our lock re-reads it after pretix's
    locks and would fail with a server error on a deleted one. pretix re-reads only ``redeemed`` there, so such a
    checkout may still complete; the caller keeps what it needs to notice that. ``source`` (the grant's or the
    speaker's key) goes into the log entry.
    """
    CartPosition.objects.filter(addon_to__voucher=voucher).delete()
    voucher.cartposition_set.all().delete()
    voucher.valid_until = now()
    voucher.max_usages = voucher.redeemed
    voucher.save(update_fields=['valid_until', 'max_usages'])
    voucher.log_action('pretix.voucher.changed', data={
        'valid_until': voucher.valid_until.isoformat(), 'max_usages': voucher.max_usages,
        'source': 'pretix_grants', **source}, user=user, auth=auth)


def lock_voucher(voucher, event):
    """pretix's lock on ``voucher`` (the event shared), then its row, re-read: the lock order of the checkout."""
    lock_objects([voucher], shared_lock_objects=[event])
    return Voucher.objects.select_for_update(of=OF_SELF).get(pk=voucher.pk)


def release_voucher(grant, *, user=None, auth=None):
    """
    Give back what a grant took, when a confirmed grant is refused or cancelled: a voucher the plugin made is
    ended while unredeemed, an upgraded one gets its old values back, a linked one is left as it was. A voucher
    already used for an order stays, and the grant is flagged for an organizer. Runs inside the caller's
    transaction, with the grant locked.
    """
    g = grant
    state = g.voucher_state
    if not g.voucher_id:
        if state != Grant.VOUCHER_NOT_ISSUED:
            g.voucher_state, g.voucher_attention = Grant.VOUCHER_NOT_ISSUED, ''
            g.save(update_fields=['voucher_state', 'voucher_attention', 'modified'])
        return
    voucher = lock_voucher(g.voucher, g.event)
    code = voucher.code

    if state == Grant.VOUCHER_ISSUED:
        used = valid_positions(voucher).select_related('order').first()
        if used is not None:
            return _flag(g, _('The grant ended, but its voucher {code} was already used in order {order}.').format(
                code=code, order=used.order.code), user=user, auth=auth)
        # the grant remembers the ended voucher (``voucher_original['ended']``): an order that comes through
        # anyway makes it need attention (``notice_order_after_end``)
        end_voucher(voucher, {'grant': g.pk}, user=user, auth=auth)
        g.voucher = None
        action = 'ended'
    elif state == Grant.VOUCHER_UPGRADED:
        original = g.voucher_original or {}
        reason = _restore_refusal(voucher, original, g.event)
        if reason:
            return _flag(g, reason, user=user, auth=auth)
        _restore_values(voucher, original)
        voucher.save(update_fields=list(UPGRADED_FIELDS))
        voucher.log_action('pretix.voucher.changed', data=_jsonable({
            **{k.removesuffix('_id'): v for k, v in _voucher_values(voucher).items()},
            'source': 'pretix_grants',
            'grant': g.pk,
        }), user=user, auth=auth)
        g.voucher = None
        g.voucher_original = None
        action = 'restored'
    else:
        # a free voucher they already had, or one flagged as redeemed: theirs, untouched
        g.voucher = None
        action = 'unlinked'

    g.voucher_state, g.voucher_attention = Grant.VOUCHER_NOT_ISSUED, ''
    g.voucher_original = {'ended': voucher.pk} if action == 'ended' else None
    g.save(update_fields=['voucher', 'voucher_state', 'voucher_attention', 'voucher_original', 'modified'])
    g.log_action(f'pretix_grants.grant.voucher.{action}', data={
        'voucher': voucher.pk,
        'code': code,
    }, user=user, auth=auth)


class VoucherLinkError(ValueError):
    """The voucher cannot be linked to the grant; nothing was changed."""


def link_voucher(grant, code, *, user=None, auth=None):
    """
    Link an existing voucher of the grant's event, found by its code (case-insensitive), to the grant: the
    voucher a person already holds, which issuance then uses (as it is if it is a free ticket, else upgraded in
    place). A confirmed grant gets it at once. Returns the grant as it is afterwards.
    """
    code = (code or '').strip()
    with transaction.atomic():
        g = Grant.objects.lock(grant.pk)
        if g.voucher_state in Grant.VOUCHER_STATES_DONE:
            raise VoucherLinkError(_('This grant already holds voucher {code} ("{state}").').format(
                code=g.voucher.code if g.voucher else '?', state=g.get_voucher_state_display()))
        if not g.may_link_voucher():
            raise VoucherLinkError(_('A grant that is "{status}" cannot get a voucher.').format(
                status=Grant.status_label(g.status)))
        voucher = Voucher.objects.filter(event=g.event, code__iexact=code).first() if code else None
        if voucher is None:
            raise VoucherLinkError(_('This event has no voucher with the code "{code}".').format(code=code))
        other = Grant.objects.filter(voucher=voucher).exclude(pk=g.pk).first()
        if other is not None:
            raise VoucherLinkError(_('Voucher {code} is already linked to another grant ({grant}).').format(
                code=voucher.code, grant=other.pk))
        try:
            target = voucher_target(g.event, g)
        except NeedsAttention:
            target = None  # no grant product yet: issuance judges the voucher once there is one
        if target is not None:
            reason = why_not_in_place(voucher, target)
            if reason and not (_is_used_up(voucher) and applies_to_grant(voucher, target)):
                raise VoucherLinkError(_('{reason} It cannot become this grant\'s free ticket; nothing was '
                                         'changed.').format(reason=reason))
        g.voucher = voucher
        g.voucher_state, g.voucher_attention, g.voucher_original = Grant.VOUCHER_NOT_ISSUED, '', None
        g.save(update_fields=['voucher', 'voucher_state', 'voucher_attention', 'voucher_original', 'modified'])
        g.log_action('pretix_grants.grant.voucher.assigned', data={'voucher': voucher.pk, 'code': voucher.code},
                     user=user, auth=auth)
        if g.status == Grant.STATUS_CONFIRMED:
            g = issue_voucher(g, event=g.event, user=user, auth=auth)
    grant.take_values_of(g)
    return g


def voucher_deleted(voucher):
    """
    pretix is deleting ``voucher`` (an organizer, the API): the grants holding it say so and can be issued again.
    The plugin's own deletions let go of the voucher first, so they do not get here.
    """
    for g in Grant.objects.filter(voucher_id=voucher.pk):
        _lose_voucher(g, _('Voucher {code} was deleted in pretix; issue the voucher again.').format(code=voucher.code))


def _lose_voucher(g, reason, *, ended=None):
    """The grant no longer holds its voucher (gone, or ``ended`` as an organizer left it) and needs attention."""
    g.voucher, g.voucher_original = None, ({'ended': ended} if ended else None)
    _flag(g, reason, also=('voucher', 'voucher_original'))


# what decides the ticket a voucher buys: an edit in pretix that changes one of them is judged (voucher_changed)
VOUCHER_TERMS = (*UPGRADED_FIELDS, 'budget', 'min_usages', 'show_hidden_items', 'seat_id')


def voucher_terms(voucher, update_fields=None):
    """
    The stored terms of ``voucher`` before pretix saves it (``pre_save``), or None for a new voucher and for a
    save of other fields only.
    """
    if voucher.pk is None:
        return None
    if update_fields is not None and not {f.removesuffix('_id') for f in update_fields} & {
            f.removesuffix('_id') for f in VOUCHER_TERMS}:
        return None
    return Voucher.objects.filter(pk=voucher.pk).values(*VOUCHER_TERMS).first()


def changed_terms(voucher, before):
    """The terms ``voucher`` (as saved) has changed since ``before`` (from ``voucher_terms``)."""
    return [f for f, v in (before or {}).items() if getattr(voucher, f) != v]


def _still_its_free_ticket(voucher, target, changed):
    """Whether ``voucher``, after an edit of ``changed``, still gives the grant exactly one ticket for 0.00."""
    if 'valid_until' in changed and voucher.valid_until is not None and voucher.valid_until <= now():
        return False  # ended by the edit (validity that runs out by itself is not an edit)
    return (voucher.max_usages - voucher.redeemed == 1 and _gives_free_ticket(voucher, target)
            and _terms_problem(voucher, target) is None)


def voucher_changed(voucher_id, changed):
    """
    pretix saved a voucher with other ``changed`` terms (an organizer's edit, the API), after its commit: a grant
    holding it, not used yet, whose one free ticket it no longer is (validity ended, uses taken away or added,
    another product, a price, a budget ...) lets it go as the organizer left it, remembers it as ended (an order
    that still comes with it is noticed, and issuing again never takes it), and needs attention, so that it can
    be issued again. The plugin's own changes keep its vouchers free tickets or end the grant's hold on them first.
    Lock order as everywhere: grant rows, pretix's ``lock_objects``, the voucher row. Runs after pretix's commit,
    so it is never part of pretix's edit: a failure here is logged, never pretix's error page.
    """
    try:
        _judge_changed_voucher(voucher_id, changed)
    except Exception:
        logger.exception('Judging the grants of voucher %s after its change in pretix failed', voucher_id)


def _judge_changed_voucher(voucher_id, changed, *, without_target=None):
    """``without_target``: the reason a grant lets the voucher go when there is no grant product to judge by."""
    with transaction.atomic():
        grants = list(Grant.objects.select_for_update(of=OF_SELF).select_related('event')
                      .filter(voucher_id=voucher_id, voucher_state__in=Grant.VOUCHER_STATES_DONE).order_by('pk'))
        voucher = Voucher.objects.filter(pk=voucher_id).first()
        if not grants or voucher is None:
            return
        voucher = lock_voucher(voucher, grants[0].event)
        for g in grants:
            if voucher_used(g):
                continue
            try:
                target = voucher_target(g.event, g)
            except NeedsAttention as e:
                if without_target:  # its product deleted: nothing left that it is a free ticket for
                    _lose_voucher(g, f'{without_target.format(code=voucher.code)} {e}', ended=voucher.pk)
                continue  # no grant product to judge by
            if _still_its_free_ticket(voucher, target, changed):
                continue
            _lose_voucher(g, _('Voucher {code} was changed in pretix and no longer gives a free ticket; issue the '
                               'voucher again.').format(code=voucher.code), ended=voucher.pk)


def _fingerprint(terms):
    """What a voucher buys (its ``VOUCHER_TERMS``), as JSON."""
    return {f: None if v is None else str(v) for f, v in terms.items()}


def check_vouchers():
    """
    The periodic consistency check (``runperiodic``, no scope active): voucher changes that fire no signal reach
    the grants within one cron run. pretix's bulk voucher edit (``bulk_update``) and deleting a product,
    variation or quota (``vouchers.update(item=None, ...)``) change vouchers without Django's ``post_save``. The
    terms of every grant voucher are read in one query and compared with the fingerprint stored on the grant;
    each voucher that differs is judged as a single edit is (``voucher_changed``): still one free ticket, nothing
    happens; otherwise the grant lets it go and needs attention, with the reason. A grant seen for the first time
    is judged by the voucher's terms alone (a validity that ended is then taken as run out, not as an edit).
    Returns how many vouchers were judged.
    """
    with scopes_disabled():
        rows = list(Grant.objects.holding_voucher().filter(event__plugins__contains='pretix_grants')
                    .values_list('pk', 'voucher_id', 'voucher_fingerprint', *[f'voucher__{f}' for f in VOUCHER_TERMS]))
        judged = 0
        for pk, voucher_id, stored, *terms in rows:
            now_terms = _fingerprint(dict(zip(VOUCHER_TERMS, terms)))
            if now_terms == stored:
                continue
            changed = [f for f in VOUCHER_TERMS if (stored or {}).get(f, now_terms[f]) != now_terms[f]]
            if stored is None:
                changed = [f for f in VOUCHER_TERMS if f != 'valid_until']
            try:
                _judge_changed_voucher(voucher_id, changed, without_target=None if stored is None else _(
                    'Voucher {code} was changed in pretix and no longer gives a free ticket; issue the voucher again.'))
            except Exception:  # one voucher must not hold back the others; the next run tries again
                logger.exception('Checking voucher %s of grant %s failed', voucher_id, pk)
                continue
            judged += 1
            Grant.objects.filter(pk=pk, voucher_id=voucher_id).update(voucher_fingerprint=now_terms)
    return judged


def notice_order_after_end(grant, voucher_ids):
    """
    An order (after its commit) holds the voucher this grant ended: a checkout that had read the voucher before
    the grant ended. The ticket is bought; the grant gets the voucher back and needs an organizer's attention.
    """
    with transaction.atomic():
        g = Grant.objects.lock(grant.pk)
        ended = (g.voucher_original or {}).get('ended')
        if g.voucher_id or ended not in voucher_ids:
            return g
        used = valid_positions(ended).select_related('order', 'voucher').first()
        if used is None:
            return g
        g.voucher = used.voucher
        g.voucher_original = None
        g.save(update_fields=['voucher', 'voucher_original', 'modified'])
        _flag(g, _('Order {order} used voucher {code} while the grant was ending; the ticket is bought.').format(
            order=used.order.code, code=used.voucher.code))
    return g


def planned_voucher(grant):
    """
    What issuing would do with the voucher this person already holds, for the detail page to say before anyone
    confirms, decided as ``_issue_locked`` decides: ``(plan, voucher, target, reason)`` with ``plan`` one of
    ``'new'`` (no voucher of theirs qualifies: a new one, theirs untouched), ``'use'`` (theirs already is a free
    ticket), ``'upgrade'`` (theirs becomes one, in place), ``'used'`` (theirs is redeemed) and ``'unfit'`` (an
    organizer linked a voucher that may not become the grant's ticket; ``reason`` says why). The last two need an
    organizer. ``(None, None, None, None)`` while the grant settings name no product or quota.
    """
    try:
        target = voucher_target(grant.event, grant)
    except NeedsAttention:
        return None, None, None, None
    voucher = existing_voucher(grant, target)
    if voucher is None:
        return 'new', None, target, None
    if _is_used_up(voucher):
        return 'used', voucher, target, None
    reason = why_not_in_place(voucher, target)
    if reason:
        return 'unfit', voucher, target, reason
    if voucher.is_active() and _gives_free_ticket(voucher, target):
        return 'use', voucher, target, None
    return 'upgrade', voucher, target, None
