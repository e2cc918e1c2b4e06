"""Fixtures and helpers of the invitation letter tests (letters.py)."""
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import Order
from pypdf import PdfReader

from pretix_grants.letters import rules as letters
from pretix_grants.models import Grant

NAMES = ('Łukasz Żółć', 'Nguyễn Thị Ánh', 'José Müller-Ø')


def letter_data(**kwargs):
    data = {
        'full_name': 'Łukasz Żółć',
        'nationality': 'PL',
        'passport_number': 'EX1234567',
        'passport_expiry': date.today() + timedelta(days=3 * 365),
        'date_of_birth': date(1990, 4, 17),
        'address': 'ul. Długa 5\n00-001 Warszawa\nPoland',
        'consulate': 'Embassy of Germany\nul. Jazdów 12\nWarszawa',
    }
    data.update(kwargs)
    return data


def form_data(**kwargs):
    """The request form's POST data (prefix ``letter``), dates in English input format."""
    data = letter_data(**kwargs)
    out = {}
    for key, value in data.items():
        if isinstance(value, date):
            value = value.strftime('%Y-%m-%d')
        out[f'letter-{key}'] = value
    return out


def pdf_text(content):
    reader = PdfReader(io.BytesIO(content))
    return reader, '\n'.join(page.extract_text() for page in reader.pages)


@pytest.fixture
@scopes_disabled()
def letter_event(event):
    event.location = 'Congress Center Hamburg\nMarseiller Str. 2\n20355 Hamburg'
    event.save()
    event.settings.grants_letters_grantees = True
    event.settings.grants_letter_signatory_name = 'Grace Hopper'
    event.settings.grants_letter_signatory_role = 'Chair of the grants committee'
    event.settings.grants_letter_contact = 'PyConf e.V.\nExample Street 1\n12345 Example City\nvisa@pyconf.example'
    return event


@pytest.fixture
@scopes_disabled()
def grantee(letter_event, make_grant):
    return make_grant(Grant.STATUS_CONFIRMED, name='Łukasz Żółć', email='lukasz@example.org',
                      travel_amount=Decimal('450.00'), accommodation_amount=Decimal('320.00'))


@pytest.fixture
def requested_letter(letter_event, grantee):
    with scope(organizer=letter_event.organizer):  # as the grantee's request page runs it
        return letters.request_letter(letter_event, letter_data(), grant=grantee)


@pytest.fixture
@scopes_disabled()
def ticket_order(letter_event, item):
    letter_event.settings.grants_letters_ticket_holders = True
    with transaction.atomic():  # pretix checks at commit that the order's transactions were recorded
        return _order(letter_event, item)


def _order(letter_event, item):
    order = Order.objects.create(
        event=letter_event, email='holder@example.org', status=Order.STATUS_PAID, locale='en',
        sales_channel=letter_event.organizer.sales_channels.get(identifier='web'),
        datetime=now(), expires=now() + timedelta(days=10), total=Decimal('200.00'),
    )
    order.positions.create(item=item, price=Decimal('200.00'), attendee_name_parts={'full_name': 'Nguyễn Thị Ánh'})
    order.create_transactions()
    return order
