"""Fixtures and helpers of the claim tests: a past event, a confirmed grant with money in it, receipt files."""
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from PIL import Image

from pretix_grants.claims import rules as claims
from pretix_grants.models import Grant

PDF = b'%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'
IBAN = 'DE89370400440532013000'
RECEIPTS = 'cachedfiles/pretix_grants/receipts'


def jpeg_bytes():
    out = io.BytesIO()
    Image.new('RGB', (40, 30), (200, 120, 40)).save(out, 'JPEG')
    return out.getvalue()


def png_bytes():
    out = io.BytesIO()
    Image.new('RGB', (20, 20), (10, 120, 240)).save(out, 'PNG')
    return out.getvalue()


def upload(name='ticket.pdf', content=PDF, content_type='application/pdf'):
    return SimpleUploadedFile(name, content, content_type=content_type)


def claim_url(grant):
    return f'/{grant.event.organizer.slug}/{grant.event.slug}/grant/{grant.secret}/claim/'


def reply_url(grant):
    return f'/{grant.event.organizer.slug}/{grant.event.slug}/grant/{grant.secret}/'


def form(step='save', **extra):
    data = {'claim_step': step, 'payout_method': 'bank', 'account_holder': 'Ada Lovelace', 'iban': IBAN, 'bic': '',
            'travel_amount': '250.00', 'travel_description': 'Train Berlin - Vienna and back',
            'accommodation_amount': '', 'accommodation_description': ''}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def receipt_files():
    """Every receipt file on pretix's storage (the test storage outlives a test's database)."""
    found, todo = set(), [RECEIPTS]
    while todo:
        path = todo.pop()
        if not default_storage.exists(path):
            continue
        dirs, files = default_storage.listdir(path)
        found |= {f'{path}/{f}' for f in files}
        todo += [f'{path}/{d}' for d in dirs]
    return found


@pytest.fixture
@scopes_disabled()
def past_event(event):
    """The event took place last week: claims are open (from its start) until 30 days after its end."""
    event.date_from = now() - timedelta(days=7)
    event.date_to = now() - timedelta(days=5)
    event.save()
    return event


@pytest.fixture
@scopes_disabled()
def claim_grant(past_event, make_grant, grant_settings):
    return make_grant(Grant.STATUS_CONFIRMED, name='Ada Lovelace', email='ada@example.org',
                      travel_amount=Decimal('300.00'), accommodation_amount=Decimal('200.00'))


def submitted_claim(grant, amount='250.00', iban=IBAN, bic='', holder=None, files=None, **payout):
    """A claim as the grantee's page submits it, through claims.save (in the organizer's scope, as the page has it)."""
    receipts = files or [upload()]
    with scope(organizer=grant.event.organizer):
        return claims.save(
            grant, items={'travel': (Decimal(amount), 'Train')},
            payout={'method': payout.get('method', 'bank'), 'account_holder': holder or grant.name, 'iban': iban,
                    'bic': bic, 'other': payout.get('other', '')},
            new_receipts={'travel': [(f, claims.check_receipt(f)) for f in receipts]}, submit=True,
        )
