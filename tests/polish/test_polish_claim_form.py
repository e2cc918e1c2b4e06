"""
The claim form reports every error of a submit at once, and keeps the receipts that were fine across a failed submit
(held for the grant, never downloadable, removed once the claim is saved or the grantee removes them).
"""
import re

import pytest
from django.test import Client
from django_scopes import scopes_disabled
from pretix.base.models import CachedFile

from pretix_grants.models import Claim, Receipt

from ..claims.conftest import claim_url, form, jpeg_bytes, upload


def post(grant, data, files=None):
    return Client().post(claim_url(grant), {**data, **(files or {})})


def held_ids(response):
    return re.findall(r'name="held_receipts" value="([0-9a-f-]+)"', response.content.decode())


@pytest.mark.django_db
def test_a_bad_receipt_and_every_other_error_show_in_one_round(claim_grant):
    r = post(claim_grant, form('submit', travel_amount='300.01', travel_description='', account_holder='',
                               iban='DE00123', accommodation_amount='50', accommodation_description=''),
             {'travel_receipts': upload('notes.txt', b'just text', 'text/plain')})
    assert r.status_code == 200
    errors = r.context['form'].errors
    assert 'is not a PDF, JPEG or PNG file' in ' '.join(errors['travel_receipts'])
    assert errors['travel_amount'] == ['Travel: you can claim at most €300.00.']
    assert errors['travel_description'] == ['Please describe what you claim.']
    assert errors['accommodation_description'] == ['Please describe what you claim.']
    assert errors['accommodation_receipts'] == ['Please add at least one receipt.']
    assert errors['account_holder'] == ['Please enter the name of the account holder.']
    assert 'iban' in errors
    with scopes_disabled():
        assert not Claim.objects.exists()


@pytest.mark.django_db
def test_receipts_are_kept_across_a_failed_submit_and_saved_with_the_claim(claim_grant):
    r = post(claim_grant, form('submit', account_holder=''),
             {'travel_receipts': [upload('train.pdf'), upload('bad.txt', b'text', 'text/plain')],
              'accommodation_receipts': upload('hostel.jpg', jpeg_bytes(), 'image/jpeg')})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'train.pdf' in html and 'hostel.jpg' in html
    held = held_ids(r)
    assert len(held) == 2
    with scopes_disabled():
        assert not Receipt.objects.exists()
        assert {cf.filename for cf in CachedFile.objects.filter(id__in=held)} == {'train.pdf', 'hostel.jpg'}
        assert not any(cf.web_download for cf in CachedFile.objects.filter(id__in=held))

    # the grantee corrects the holder, removes the hostel receipt and submits again without choosing any file
    hostel = next(i for i in held if CachedFile.objects.get(id=i).filename == 'hostel.jpg')
    r = post(claim_grant, form('submit', held_receipts=held, drop_held=[hostel]))
    assert r.status_code == 302, r.context['form'].errors
    with scopes_disabled():
        claim = Claim.objects.get(grant=claim_grant)
        assert claim.state == Claim.STATE_SUBMITTED
        assert [(x.original_name, x.content_type) for x in Receipt.objects.filter(item__claim=claim)] == [
            ('train.pdf', 'application/pdf')]
        receipt = Receipt.objects.get(item__claim=claim)
        assert receipt.file.read().startswith(b'%PDF-')
        assert not CachedFile.objects.filter(id__in=held).exists(), 'held receipts are gone once saved'


@pytest.mark.django_db
def test_a_held_receipt_belongs_to_its_grant_only(claim_grant, make_grant):
    r = post(claim_grant, form('submit', account_holder=''), {'travel_receipts': upload('train.pdf')})
    held = held_ids(r)
    with scopes_disabled():
        other = make_grant(claim_grant.STATUS_CONFIRMED, name='Eve', email='eve@example.org',
                           travel_amount=claim_grant.travel_amount)
    r = post(other, form('submit', account_holder='Eve', held_receipts=held))
    assert r.status_code == 200
    assert r.context['form'].errors['travel_receipts'] == ['Please add at least one receipt.']
    with scopes_disabled():
        assert CachedFile.objects.filter(id__in=held).exists()
