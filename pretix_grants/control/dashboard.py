"""The event dashboard's grant widget: how many grants are where, and how much of the budget is spoken for."""
from decimal import Decimal

from django.db.models import Count
from django.template.loader import get_template

from .. import lifecycle
from ..models import TICKET_VALID, Grant


def dashboard_numbers(event):
    by_status = dict(
        Grant.objects.filter(event=event).order_by().values_list('status').annotate(n=Count('pk'))
    )
    vouchers = Grant.objects.filter(event=event).holding_voucher()
    budget = event.settings.get('grants_budget', as_type=Decimal)
    return {
        'statuses': [(key, label, by_status.get(key, 0)) for key, label in Grant.STATUS_CHOICES],
        'total': sum(by_status.values()),
        'vouchers_issued': vouchers.count(),
        'vouchers_redeemed': vouchers.filter(order_status__in=TICKET_VALID).count(),
        'checked_in': Grant.objects.filter(event=event, checked_in_at__isnull=False).count(),
        'no_shows': lifecycle.no_shows(event).count(),
        'event_ended': lifecycle.event_ended(event),
        'budget_used': lifecycle.budget_used(event),
        'budget': budget,
    }


def dashboard_widget(event, lazy=False):
    """The widget (pretix loads its content lazily, for users who may see orders)."""
    content = None
    if not lazy:
        content = get_template('pretix_grants/dashboard_widget.html').render({
            'event': event, 'n': dashboard_numbers(event),
        })
    return {
        'content': content,
        'lazy': 'pretix-grants',
        'display_size': 'big',
        'priority': 60,
    }
