"""
What a voucher really buys, judged by pretix: its REST order creation (``simulate``: nothing is created) and the
shop's cart and checkout.
"""
from decimal import Decimal

from .conftest import api_client_for

EMAIL = 'buyer@example.org'


class Shop:
    """pretix's REST order creation for one event, through an API token of the organizer."""

    def __init__(self, event):
        self.event = event
        team = event.organizer.teams.create(name='Checkout', all_events=True, all_event_permissions=True)
        self.client = api_client_for(team)
        self.url = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/orders/'

    def order(self, code, item, count=1, variation=None, subevent=None, simulate=True):
        """POST an order of ``count`` positions with ``code`` and no price. Returns (total or None, response)."""
        position = {'item': item.pk, 'variation': variation.pk if variation else None}
        if code:
            position['voucher'] = code
        if subevent is not None:
            position['subevent'] = subevent.pk
        r = self.client.post(self.url, {
            'email': EMAIL, 'locale': 'en', 'sales_channel': 'web', 'simulate': simulate,
            'positions': [dict(position, positionid=i + 1) for i in range(count)],
        }, format='json')
        if r.status_code != 201:
            return None, r
        return Decimal(r.data['total']), r

    def free_tickets(self, code, item, **kwargs):
        """How many tickets ``code`` buys at 0.00 in one order: 0, 1 or 2 (two or more)."""
        if not code:
            return 0
        one, r = self.order(code, item, **kwargs)
        if one != Decimal('0.00'):
            return 0
        two, r = self.order(code, item, count=2, **kwargs)
        return 2 if two == Decimal('0.00') else 1
