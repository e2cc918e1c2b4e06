from decimal import Decimal

from django.core import mail as djmail
from django_scopes import scopes_disabled
from pretix.base.models import LogEntry, Voucher

from pretix_grants.models import Speaker

SOLO, PAIR, SECOND, SUBMITTED, REJECTED, TRIO = range(6)
FREE = Decimal('0.00')


def url(event, path=''):
    return f'/control/event/{event.organizer.slug}/{event.slug}/grants/speakers/{path}'


def press(client, event, button):
    """A button of the speakers page, as an organizer clicks it; the page it leads back to."""
    r = client.post(url(event, 'action/'), {'do': button}, follow=True)
    assert r.status_code == 200
    return r


@scopes_disabled()
def speaker(event, pretalx, n):
    return Speaker.objects.select_related('voucher').get(event=event, code=pretalx.data['speakers'][str(n)])


@scopes_disabled()
def snapshot(event):
    """What a sync may change in pretix: speakers, vouchers, their log, the mails."""
    return (
        sorted(Speaker.objects.filter(event=event).values_list('code', 'role', 'state', 'voucher_id', 'attention')),
        sorted(Voucher.objects.filter(event=event).values_list('pk', 'code', 'price_mode', 'value', 'max_usages',
                                                               'valid_until')),
        LogEntry.objects.filter(event=event).count(),
        len(djmail.outbox),
    )
