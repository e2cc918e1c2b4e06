"""
pretix's own flows, each run the way pretix runs it in production: the shop's checkout as its order task does (in
the organizer's scope), the REST API through the test client (pretix's middleware sets the scope), and what runs
after pretix's commit.
"""
from django.test import TestCase
from django_scopes import scope, scopes_disabled
from pretix.base.models import CartPosition, Order
from pretix.base.services.cart import add_items_to_cart
from pretix.base.services.orders import _perform_order

from ..lifecycle.helpers import FREE_PAYMENT


def checkout(event, item, code, email='ada@example.org', cart_id='grant-cart'):
    """The shop's cart and checkout with ``code``, as pretix's tasks run them (each in the organizer's scope)."""
    add_items_to_cart.apply(args=(event.pk, [{
        'item': item.pk, 'variation': None, 'count': 1, 'voucher': code,
    }], cart_id, 'en')).get()
    with scope(organizer=event.organizer), TestCase.captureOnCommitCallbacks(execute=True):
        ids = list(CartPosition.objects.filter(event=event, cart_id=cart_id).values_list('id', flat=True))
        result = _perform_order(event, [dict(FREE_PAYMENT)], ids, email, 'en', None, {}, 'web')
    with scopes_disabled():
        return Order.objects.get(pk=result['order_id'])
