"""The smaller rough edges: the export's totals, the organizer's claim page, the settings pages and letter mails."""
import csv
import io
from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled

from pretix_grants.control.exporters import GrantExporter
from pretix_grants.models import Grant

from ..claims.conftest import jpeg_bytes, submitted_claim, upload
from ..control.conftest import url


@pytest.mark.django_db
def test_the_exports_totals_have_cents_like_every_amount(event, make_grant):
    make_grant(Grant.STATUS_CONFIRMED, name='Ada', travel_amount=Decimal('300.00'),
               accommodation_amount=Decimal('130.00'), requested_travel=Decimal('300'))
    with scope(organizer=event.organizer):
        name, ctype, data = GrantExporter(event=event, organizer=event.organizer).render({'_format': 'default'})
    rows = list(csv.DictReader(io.StringIO(data.decode('utf-8-sig'))))
    assert (rows[0]['Travel'], rows[0]['Total'], rows[0]['Requested: total']) == ('300.00', '430.00', '300.00')


@pytest.mark.django_db
def test_the_organizers_claim_page_groups_the_iban_and_names_image_receipts(admin_client, claim_grant, past_event):
    with scopes_disabled():
        claim = submitted_claim(claim_grant, files=[upload('hotel-bill.jpg', jpeg_bytes(), 'image/jpeg')])
    html = admin_client.get(url(past_event, f'claims/{claim.pk}/')).content.decode()
    assert '<dd id="claim-iban"><code>DE89 3704 0044 0532 0130 00</code></dd>' in html
    assert '<dd id="claim-bic">–</dd>' in html  # no red code box around a dash
    assert 'hotel-bill.jpg · ' in html


@pytest.mark.django_db
def test_each_settings_page_links_the_other_two(admin_client, event):
    pages = {'grants': 'settings/', 'claims': 'claims/settings/', 'letters': 'letters/settings/'}
    for name, path in pages.items():
        html = admin_client.get(url(event, path)).content.decode()
        for other in pages.values():
            assert f'href="{url(event, other)}"' in html, (name, other)
        assert html.count('aria-current="page"') == 1


@pytest.mark.django_db
@pytest.mark.parametrize('lang', ['en', 'de'])
def test_letter_mails_have_a_preview(admin_client, event, lang):
    html = admin_client.get(url(event, 'letters/settings/')).content.decode()
    assert f'href="{url(event, "letters/settings/preview/letter_approved/")}?locale={lang}"' in html
    r = admin_client.get(url(event, 'letters/settings/preview/letter_approved/') + f'?locale={lang}')
    assert r.status_code == 200
    text = r.content.decode()
    assert '{name}' not in text and '{letter_url}' not in text
    assert ('Your invitation letter for PyConf 2027' if lang == 'en' else 'Ihr Einladungsschreiben') in text
    assert admin_client.get(url(event, 'letters/settings/preview/received/')).status_code == 404
