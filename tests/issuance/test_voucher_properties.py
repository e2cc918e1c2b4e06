"""
The invariant over voucher set-ups and what happens to a grant, checked after every step through pretix's own order
creation (REST ``simulate``):

- a grant whose voucher state says issued, linked or upgraded: its code buys exactly one ticket at 0.00, counting
  the orders that already hold it (not zero, not two);
- the person's own voucher, while the grant does not hold it, buys exactly what it bought before;
- a grant marked "needs attention" never lets a grant code buy two free tickets.

GRANTS_PROPERTY_EXAMPLES sets the number of examples (300 by default; CI's PostgreSQL pass runs more).
"""
import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.db import transaction
from django.test import TestCase
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings, strategies as st
from pretix.base.models import Order, Voucher
from pretix.base.services.orders import _cancel_order

from pretix_grants import issuance, workflow
from pretix_grants.models import Grant

from ..checkout import Shop

EXAMPLES = int(os.environ.get('GRANTS_PROPERTY_EXAMPLES', 300))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ZERO = Decimal('0.00')

SETUPS = st.fixed_dictionaries({
    'max_usages': st.integers(1, 3),
    'redeemed': st.integers(0, 2),
    'price_mode': st.sampled_from(['percent', 'subtract', 'set', 'none']),
    'budget': st.sampled_from([None, 'capping', 'ample']),
    'applies': st.sampled_from(['item', 'variation', 'quota', 'all', 'other']),
    'valid_until': st.sampled_from(['past', 'future', None]),
    'block_quota': st.booleans(),
})
STEPS = st.lists(st.sampled_from([
    'confirm', 'refuse', 'cancel', 'reoffer', 'order_placed', 'order_cancelled', 'voucher_edited', 'voucher_deleted',
]), min_size=1, max_size=4)


@pytest.fixture
@scopes_disabled()
def world(event, item, quota):
    """One event for all examples: a ticket, a ticket with sizes, a workshop; each example rolls back."""
    shirt = event.items.create(name='Ticket with size', default_price=Decimal('200.00'), admission=True)
    small = shirt.variations.create(value='S')
    shirt.variations.create(value='L')
    quota.items.add(shirt)
    quota.variations.add(*shirt.variations.all())
    workshop = event.items.create(name='Workshop', default_price=Decimal('80.00'))
    quota.items.add(workshop)
    return {'event': event, 'item': item, 'shirt': shirt, 'small': small, 'workshop': workshop, 'quota': quota,
            'shop': Shop(event)}


@scopes_disabled()
def set_up(w, s):
    """The grant settings and the person's voucher (sent to them with pretix's "send by email" record)."""
    event, st_ = w['event'], event_settings(w)
    for key in ('grants_voucher_item', 'grants_voucher_variation', 'grants_voucher_quota'):
        st_.delete(key)
    st_.grants_voucher_block_quota = s['block_quota']
    if s['applies'] == 'quota':
        st_.grants_voucher_quota = w['quota'].pk
        target = (w['item'], None)
    elif s['applies'] == 'variation':
        st_.grants_voucher_item = w['shirt'].pk
        st_.grants_voucher_variation = w['small'].pk
        target = (w['shirt'], w['small'])
    else:
        st_.grants_voucher_item = w['item'].pk
        target = (w['item'], None)
    fields = {'max_usages': s['max_usages'], 'redeemed': min(s['redeemed'], s['max_usages'])}
    if s['price_mode'] != 'none':
        fields['price_mode'] = s['price_mode']
        fields['value'] = {'percent': Decimal('25.00'), 'subtract': Decimal('10.00'), 'set': Decimal('50.00')}[
            s['price_mode']]
    if s['budget']:
        fields['budget'] = Decimal('5.00') if s['budget'] == 'capping' else Decimal('1000.00')
    if s['valid_until']:
        fields['valid_until'] = now() + (timedelta(days=-1) if s['valid_until'] == 'past' else timedelta(days=30))
    own_target = {
        'item': (w['item'], None), 'variation': (w['shirt'], w['small']), 'quota': (w['item'], None),
        'all': (w['item'], None), 'other': (w['workshop'], None),
    }[s['applies']]
    if s['applies'] in ('item', 'other'):
        fields['item'] = own_target[0]
    elif s['applies'] == 'variation':
        fields['item'], fields['variation'] = own_target
    elif s['applies'] == 'quota':
        fields['quota'] = w['quota']
    fields['block_quota'] = s['block_quota'] and s['applies'] != 'all'
    own = event.vouchers.create(code='OWNCODE', **fields)
    own.log_action('pretix.voucher.sent', data={'recipient': 'ada@example.org', 'subject': 's', 'message': 'm'})
    grant = Grant.objects.create(event=event, name='Ada', email='ada@example.org', status=Grant.STATUS_APPROVED,
                                 reply_deadline=now() + timedelta(days=14))
    return grant, own, target, own_target


def event_settings(w):
    return w['event'].settings


class Run:
    def __init__(self, w, s):
        self.w, self.shop = w, w['shop']
        self.grant, self.own, self.target, self.own_target = set_up(w, s)
        self.baseline = self.buys_own()
        self.orders = []

    def buys_own(self):
        item, variation = self.own_target
        total, r = self.shop.order('OWNCODE', item, variation=variation)
        return total

    def refresh(self):
        with scopes_disabled():
            self.grant = Grant.objects.select_related('voucher').get(pk=self.grant.pk)
        return self.grant

    def own_voucher(self, g):
        with scopes_disabled():
            return g.voucher or Voucher.objects.filter(pk=self.own.pk).first()

    def step(self, op):
        g = self.refresh()
        # each step as the grantee's page, the control panel or pretix's task runs it: in the organizer's scope
        with scope(organizer=self.w['event'].organizer), TestCase.captureOnCommitCallbacks(execute=True):
            if op == 'confirm' and workflow.allowed(g, Grant.STATUS_CONFIRMED, workflow.GRANTEE):
                workflow.confirm(g)
            elif op == 'refuse' and workflow.allowed(g, Grant.STATUS_REFUSED, workflow.GRANTEE):
                workflow.refuse(g)
            elif op == 'cancel' and workflow.allowed(g, Grant.STATUS_CANCELLED, workflow.ORGANIZER):
                workflow.cancel(g)
            elif op == 'reoffer' and g.status == Grant.STATUS_APPROVED:
                workflow.expire(g)
                workflow.change_status(g, Grant.STATUS_APPROVED, actor=workflow.ORGANIZER)
            elif op == 'order_placed' and g.holds_voucher():
                item, variation = self.target
                total, r = self.shop.order(g.voucher.code, item, variation=variation, simulate=False)
                if total is not None:
                    with scopes_disabled():
                        self.orders.append(Order.objects.get(code=r.data['code']))
            elif op == 'order_cancelled' and self.orders:
                _cancel_order(self.orders.pop().pk, send_mail=False)
            elif op == 'voucher_edited':
                v = self.own_voucher(g)
                if v is not None:
                    v.valid_until = (v.valid_until or now() + timedelta(days=30)) + timedelta(days=1)
                    v.save(update_fields=['valid_until'])
                    if v.pk == self.own.pk and g.voucher_id != v.pk:
                        self.baseline = self.buys_own()
            elif op == 'voucher_deleted':
                v = self.own_voucher(g)
                if v is not None and v.allow_delete():
                    if v.pk == self.own.pk:
                        self.own_deleted = True
                    v.delete()

    def check(self):
        g = self.refresh()
        item, variation = self.target
        if g.holds_voucher():
            with scope(organizer=self.w['event'].organizer):  # as the grant's pages judge it
                bought = issuance.voucher_used(g)
            left = self.shop.free_tickets(g.voucher.code, item, variation=variation)
            assert int(bought) + left == 1, (g.voucher_state, bought, left)
        elif g.voucher_id:
            assert self.shop.free_tickets(g.voucher.code, item, variation=variation) <= 1
        if getattr(self, 'own_deleted', False) or g.voucher_id == self.own.pk:
            return
        if g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and (g.voucher_original or {}).get('set'):
            return
        assert self.buys_own() == self.baseline, 'the person\'s own voucher changed'


@pytest.mark.django_db
@PROPERTY
@given(setup=SETUPS, steps=STEPS)
def test_one_grant_one_free_ticket(world, setup, steps):
    djmail.outbox = []
    with transaction.atomic():
        run = Run(world, setup)
        run.check()
        for op in steps:
            run.step(op)
            run.check()
        transaction.set_rollback(True)
