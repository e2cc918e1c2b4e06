"""
Real pretix orders and check-ins for the lifecycle tests: through pretix's cart, order and check-in services.
Each runs what is queued for after its commit (the plugin follows orders after pretix's transaction committed),
and each runs pretix's service in the organizer's scope, as pretix's task or request does.
"""

from django.core.cache import cache
from django.db import transaction
from django.test import TestCase
from django_scopes import scope, scopes_disabled
from pretix.base.models import CartPosition, Order
from pretix.base.services.cart import add_items_to_cart
from pretix.base.services.checkin import perform_checkin
from pretix.base.services.orders import _cancel_order, _perform_order
from pretix.base.signals import periodic_task

FREE_PAYMENT = {
    'id': 'free', 'provider': 'free', 'max_value': None, 'min_value': None, 'multi_use_supported': False,
    'info_data': {},
}


def order_with_voucher(event, item, voucher, email='buyer@example.org', cart_id='grant-cart'):
    """Put the product in a cart with the voucher, as the shop does, and check out for free."""
    add_items_to_cart.apply(args=(event.pk, [{
        'item': item.pk, 'variation': None, 'count': 1, 'voucher': voucher.code,
    }], cart_id, 'en')).get()
    with scopes_disabled():
        ids = list(CartPosition.objects.filter(event=event, cart_id=cart_id).values_list('id', flat=True))
    with scope(organizer=event.organizer), TestCase.captureOnCommitCallbacks(execute=True):  # pretix's order task
        result = _perform_order(event, [dict(FREE_PAYMENT)], ids, email, 'en', None, {}, 'web')
    with scopes_disabled():
        return Order.objects.get(pk=result['order_id'])


def cancel(order):
    with scope(organizer=order.event.organizer), TestCase.captureOnCommitCallbacks(execute=True):
        _cancel_order(order.pk, send_mail=False)
    with scopes_disabled():
        order.refresh_from_db()
    return order


def check_in(order, checkin_list):
    with scopes_disabled():
        position = order.positions.first()
    with scope(organizer=order.event.organizer), TestCase.captureOnCommitCallbacks(execute=True), \
            transaction.atomic():  # as pretix's check-in API runs it
        perform_checkin(position, checkin_list, {})
    return position


def cron():
    """
    One run of ``python -m pretix runperiodic``: ``periodic_task`` sent as it sends it (``send_robust``, no scope
    active, in autocommit, so what a receiver queues for after its commit runs at once); no receiver of the plugin
    may fail (pretix's own update check cannot run under freezegun's clock).
    """
    cache.clear()  # pretix's minimum_interval: every receiver is due
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = periodic_task.send_robust(sender=None)
    failed = {f'{r.__module__}.{r.__name__}': value for r, value in results
              if r.__module__.startswith('pretix_grants') and isinstance(value, Exception)}
    assert failed == {}, failed
    return results
