"""
Fixtures of the own-ticket tests: real pretix orders (REST order creation), paid through pretix's bank import and
gift cards, and a card provider that refunds automatically and can fail as a card acquirer does.
"""
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django_scopes import scopes_disabled
from pretix.base.models import Order, OrderPayment
from pretix.base.payment import BasePaymentProvider, PaymentException
from pretix.base.signals import register_payment_providers
from pretix.plugins.banktransfer.models import BankImportJob
from pretix.plugins.banktransfer.tasks import process_banktransfers

from ..conftest import api_client_for

IBAN = 'DE02120300000000202051'


class CardProvider(BasePaymentProvider):
    """A card acquirer as pretix sees one: refunds automatically, fully or in part; declines while told to."""
    identifier = 'grantcard'
    verbose_name = 'Card'

    @property
    def settings_form_fields(self):
        return {}

    def payment_refund_supported(self, payment):
        return True

    def payment_partial_refund_supported(self, payment):
        return True

    def execute_refund(self, refund):
        if self.event.settings.get('grantcard_declines', as_type=bool):
            raise PaymentException('The card acquirer declined the refund.')
        refund.done()


def _card_provider(sender, **kwargs):
    return CardProvider


# pretix's own tests register their test provider through an app of their own; this one counts as the plugin's
setattr(_card_provider, '__mocked_app', apps.get_app_config('pretix_grants'))
register_payment_providers.connect(_card_provider, dispatch_uid='pretix_grants_tests_card')


@pytest.fixture
def shop_event(event, grant_settings):
    with scopes_disabled():
        # bank transfer is an event-and-organizer plugin in pretix: switched on at both levels
        event.organizer.plugins = 'pretix.plugins.banktransfer'
        event.organizer.save()
        event.plugins = 'pretix_grants,pretix.plugins.banktransfer'
        event.save()
        event.settings.payment_banktransfer__enabled = True
        event.settings.payment_banktransfer_bank_details_type = 'sepa'
        event.settings.payment_banktransfer_bank_details_sepa_name = 'PyConf'
        event.settings.payment_banktransfer_bank_details_sepa_iban = 'DE89370400440532013000'
        event.settings.payment_banktransfer_bank_details_sepa_bic = 'COBADEFFXXX'
        event.settings.payment_grantcard__enabled = True
        event.settings.payment_giftcard__enabled = True
    return event


class Buyer:
    """A person buying through pretix's REST order creation and paying the ways pretix knows."""

    def __init__(self, event):
        self.event = event
        with scopes_disabled():
            team = event.organizer.teams.create(name='Box office', all_events=True, all_event_permissions=True)
        self.client = api_client_for(team)
        self.url = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/orders/'

    def order(self, item, email, *, attendee_email=None, voucher=None, provider='banktransfer', gift_card=None,
              count=1):
        position = {'item': item.pk, 'attendee_email': attendee_email}
        if voucher:
            position['voucher'] = voucher
        body = {'email': email, 'locale': 'en', 'sales_channel': 'web',
                'positions': [dict(position, positionid=i + 1) for i in range(count)]}
        if gift_card:
            body['use_gift_cards'] = [gift_card]
        else:
            body['payment_provider'] = provider
        r = self.client.post(self.url, body, format='json')
        assert r.status_code == 201, r.data
        with scopes_disabled():
            return Order.objects.get(event=self.event, code=r.data['code'])

    def pay_by_bank(self, order, payer='Ada Lovelace', iban=IBAN):
        """pretix's bank import matches the transfer to the order and confirms its payment."""
        with scopes_disabled():
            job = BankImportJob.objects.create(event=self.event, organizer=self.event.organizer)
            process_banktransfers.apply(kwargs={'job': job.pk, 'data': [{
                'payer': payer, 'reference': f'{self.event.slug}-{order.code}', 'amount': str(order.total),
                'date': '2026-12-01', 'iban': iban, 'bic': 'GENODEM1GLS',
            }]})
            order.refresh_from_db()
        return order

    def pay_by_card(self, order):
        with scopes_disabled():
            p = order.payments.create(provider='grantcard', amount=order.total, state=OrderPayment.PAYMENT_STATE_CREATED)
            p.confirm()
            order.refresh_from_db()
        return order


@pytest.fixture
def buyer(shop_event):
    return Buyer(shop_event)


@pytest.fixture
def gift_card(shop_event):
    with scopes_disabled():
        gc = shop_event.organizer.issued_gift_cards.create(currency='EUR')
        gc.transactions.create(value=Decimal('500.00'), acceptor=shop_event.organizer)
    return gc


def info(payment):
    return json.loads(payment.info or '{}')
