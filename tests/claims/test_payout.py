"""
Payout details and payout files: IBANs checked with django-localflavor, the SEPA credit transfer file valid
pain.001 paying exactly the approved amounts, CSV and Excel, exporting then marking paid, and the data shredder.
"""
import csv
import io
import os
import re
from decimal import Decimal

import pytest
import sepaxml
import xmlschema
from django.core import mail as djmail
from django.core.exceptions import ValidationError
from django.test import Client
from django_scopes import scope, scopes_disabled
from lxml import etree
from openpyxl import load_workbook
from pretix.base.models import LogEntry

from pretix_grants.claims import payouts as claim_payouts, rules as claims
from pretix_grants.claims.shredder import ClaimShredder
from pretix_grants.models import Claim, Grant, PayoutBatch, Receipt

from ..conftest import committed, mails_to
from ..test_shredder import run_shredder
from .conftest import IBAN, claim_url, form, submitted_claim, upload

NS = {'p': 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'}
XSD = os.path.join(os.path.dirname(sepaxml.__file__), 'schemas', 'pain.001.001.03.xsd')
AT_IBAN = 'AT611904300234573201'
CH_IBAN = 'CH9300762011623852957'  # SEPA area, outside the EU
TR_IBAN = 'TR330006100519786457841326'  # outside the SEPA area


def organizers(event):
    """The claims' code as a page of the event runs it: in the organizer's scope."""
    return scope(organizer=event.organizer)


def payout(event, **kw):
    kw.setdefault('account_holder', 'Ada Lovelace')
    with organizers(event):  # the grantee's claim page
        return claims.clean_payout(event, 'bank', **kw)


@scopes_disabled()
def claims_in(state=None, **filters):
    qs = Claim.objects.filter(**filters)
    return list(qs.filter(state=state) if state else qs)


@pytest.mark.django_db
def test_iban_spaces_and_lower_case_are_normalised(event):
    assert payout(event, iban='de89 3704 0044 0532 0130 00')['iban'] == IBAN
    assert payout(event, iban=' at61 1904 3002 3457 3201 ', bic='')['iban'] == AT_IBAN


@pytest.mark.django_db
def test_an_iban_with_a_wrong_checksum_is_refused(event):
    with pytest.raises(ValidationError) as e:
        payout(event, iban='DE88370400440532013000')
    assert 'iban' in e.value.message_dict
    assert 'Not a valid IBAN' in str(e.value.message_dict['iban'])


@pytest.mark.django_db
def test_an_iban_of_the_wrong_length_for_its_country_is_refused(event):
    with pytest.raises(ValidationError) as e:
        payout(event, iban='DE8937040044053201300')
    assert 'DE IBANs must contain 22 characters.' in e.value.message_dict['iban']
    with pytest.raises(ValidationError) as e:
        payout(event, iban='XX89370400440532013000')
    assert 'XX is not a valid country code for IBAN.' in e.value.message_dict['iban']


@pytest.mark.django_db
def test_a_bic_is_needed_only_outside_the_sepa_area(event):
    assert payout(event, iban=CH_IBAN)['bic'] == ''
    with pytest.raises(ValidationError) as e:
        payout(event, iban=TR_IBAN)
    assert 'outside the SEPA area' in str(e.value.message_dict['bic'])
    assert payout(event, iban=TR_IBAN, bic='tgbatrisxxx')['bic'] == 'TGBATRISXXX'
    with pytest.raises(ValidationError) as e:
        payout(event, iban=TR_IBAN, bic='NOTABIC')
    assert 'bic' in e.value.message_dict


@pytest.mark.django_db
def test_the_grantee_page_shows_iban_errors_and_saves_nothing(claim_grant):
    data = {**form('save', iban='DE88370400440532013000'), 'travel_receipts': upload()}
    r = Client().post(claim_url(claim_grant), data)
    assert r.status_code == 200
    assert 'Not a valid IBAN' in r.content.decode()
    with scopes_disabled():
        assert not Claim.objects.exists() and not Receipt.objects.exists()
    r = Client().post(claim_url(claim_grant), form('save', iban='de89 3704 0044 0532 0130 00'))
    [c] = claims_in()
    assert c.iban == IBAN


@pytest.mark.django_db
def test_another_payout_method_only_where_the_organizer_allows_it(claim_grant, past_event):
    r = Client().post(claim_url(claim_grant), form('save', payout_method='other', payout_other='paypal@ada.example'))
    assert r.status_code == 200 and claims_in() == []
    past_event.settings.grants_claims_allow_other_payout = True
    r = Client().post(claim_url(claim_grant), form('save', payout_method='other', payout_other='paypal@ada.example'))
    assert r.status_code == 302
    [c] = claims_in()
    assert (c.payout_method, c.payout_other, c.iban) == ('other', 'paypal@ada.example', '')


@pytest.fixture
def approved_claims(claim_grant, past_event, make_grant):
    s = past_event.settings
    s.grants_payout_account_holder = 'PyConf e.V.'
    s.grants_payout_iban = 'DE02120300000000202051'
    s.grants_payout_bic = 'BYLADEM1001'
    ada = submitted_claim(claim_grant, '250.00')
    with organizers(past_event):  # the organizer's claim page
        claims.approve(ada, Decimal('240.50'))
    grace = make_grant(Grant.STATUS_CONFIRMED, name='Grace Hopper', email='grace@example.org')
    g = submitted_claim(grace, '199.99', iban=AT_IBAN)
    with organizers(past_event):
        claims.approve(g)
    tr = make_grant(Grant.STATUS_CONFIRMED, name='Cahit Arf', email='cahit@example.org')
    t = submitted_claim(tr, '100.00', iban=TR_IBAN, bic='TGBATRISXXX')
    with organizers(past_event):
        claims.approve(t)
    pending = make_grant(Grant.STATUS_CONFIRMED, name='Not Yet', email='notyet@example.org')
    submitted_claim(pending, '50.00')
    djmail.outbox = []
    with scopes_disabled():
        return [Claim.objects.get(pk=c.pk) for c in (ada, g, t)]


def export(client, event, fmt, ids):
    """Export as a payout batch (claims/payouts.py), then download its file; a refusal is the export's redirect."""
    r = client.post(f'/control/event/{event.organizer.slug}/{event.slug}/grants/claims/export/',
                    {'export_format': fmt, 'claim': [str(i) for i in ids]})
    if r.status_code != 302 or '/claims/payouts/' not in r['Location']:
        return r
    return client.get(r['Location'] + 'download/')


@pytest.mark.django_db
def test_the_sepa_file_is_valid_pain_001_and_pays_the_approved_amounts(approved_claims, admin_client, past_event):
    page = admin_client.get('/control/event/pyconf/2027/grants/claims/export/')
    assert page.status_code == 200
    r = export(admin_client, past_event, 'sepa', [c.pk for c in approved_claims])
    assert r.status_code == 200
    assert r['Content-Type'] == 'application/xml'
    assert r['Content-Disposition'].startswith('attachment; filename="grant-payouts-2027-')
    xml = r.content
    xmlschema.XMLSchema(XSD).validate(xml.decode())  # the schema sepaxml validates with

    doc = etree.fromstring(xml)
    assert doc.find('p:CstmrCdtTrfInitn/p:PmtInf/p:Dbtr/p:Nm', NS).text == 'PyConf e.V.'
    assert doc.find('p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAcct/p:Id/p:IBAN', NS).text == 'DE02120300000000202051'
    txs = doc.findall('.//p:CdtTrfTxInf', NS)
    got = {(t.find('p:Cdtr/p:Nm', NS).text, t.find('p:CdtrAcct/p:Id/p:IBAN', NS).text,
            Decimal(t.find('p:Amt/p:InstdAmt', NS).text), t.find('p:RmtInf/p:Ustrd', NS).text) for t in txs}
    ada, grace, cahit = approved_claims
    assert got == {
        ('Ada Lovelace', IBAN, Decimal('240.50'), f'PyConf 2027 grant {ada.grant_id} reimbursement'),
        ('Grace Hopper', AT_IBAN, Decimal('199.99'), f'PyConf 2027 grant {grace.grant_id} reimbursement'),
    }, 'the account outside the SEPA area is paid otherwise (CSV/Excel)'
    assert Decimal(doc.find('.//p:GrpHdr/p:CtrlSum', NS).text) == Decimal('440.49') == sum(a for n, i, a, u in got)
    assert doc.find('.//p:GrpHdr/p:NbOfTxs', NS).text == '2'
    assert len(claims_in(Claim.STATE_APPROVED)) == 3, 'exporting alone pays nothing'
    assert mails_to('ada@example.org') == []


@pytest.mark.django_db
def test_csv_and_excel_list_every_approved_claim(approved_claims, admin_client, past_event):
    ids = [c.pk for c in approved_claims]
    r = export(admin_client, past_event, 'csv', ids)
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0][:5] == ['Account holder', 'IBAN', 'BIC', 'Other payout method', 'Amount']
    assert {(row[0], row[1], row[2], row[4]) for row in rows[1:]} == {
        ('Ada Lovelace', IBAN, '', '240.50'), ('Grace Hopper', AT_IBAN, '', '199.99'),
        ('Cahit Arf', TR_IBAN, 'TGBATRISXXX', '100.00')}
    with scopes_disabled():
        batch = PayoutBatch.objects.get()
    with organizers(past_event):  # the payout batch's page cancels it: the claims are payable again, in another file
        claim_payouts.cancel(batch)
    r = export(admin_client, past_event, 'xlsx', ids)
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.values)
    assert len(values) == 4 and sum(Decimal(str(v[4])) for v in values[1:]) == Decimal('540.49')


@pytest.mark.django_db
def test_marking_the_exported_claims_paid_mails_each_grantee(approved_claims, admin_client, past_event):
    ids = [c.pk for c in approved_claims]
    r = admin_client.post('/control/event/pyconf/2027/grants/claims/paid/', {'claim': ids, 'next': 'export'})
    assert r.status_code == 302
    assert len(claims_in(Claim.STATE_PAID)) == 3
    assert {m.to[0] for m in djmail.outbox} == {'ada@example.org', 'grace@example.org', 'cahit@example.org'}
    assert all(m.subject == 'Your reimbursement for PyConf 2027 is on its way' for m in djmail.outbox)
    page = admin_client.get('/control/event/pyconf/2027/grants/claims/export/')
    assert 'There are no approved, unpaid claims.' in page.content.decode()
    # paying twice pays nothing twice
    djmail.outbox = []
    admin_client.post('/control/event/pyconf/2027/grants/claims/paid/', {'claim': ids})
    assert djmail.outbox == []


@pytest.mark.django_db
def test_marking_the_sepa_batch_paid_leaves_the_others_open(approved_claims, admin_client, past_event):
    ada, grace, cahit = approved_claims
    xml = export(admin_client, past_event, 'sepa', [c.pk for c in approved_claims]).content
    in_file = sorted(int(i) for i in re.findall(rb'<EndToEndId>GRANT\d+CLAIM(\d+)</EndToEndId>', xml))
    assert in_file == sorted([ada.pk, grace.pk])
    with scopes_disabled():
        batch = PayoutBatch.objects.get()
    r = admin_client.post(f'/control/event/pyconf/2027/grants/claims/payouts/{batch.pk}/paid/')
    assert r.status_code == 302
    assert {c.pk for c in claims_in(Claim.STATE_PAID)} == {ada.pk, grace.pk}
    assert {m.to[0] for m in djmail.outbox} == {'ada@example.org', 'grace@example.org'}
    page = admin_client.get(r['Location']).content.decode()
    assert '2 claims have been marked as paid.' in page
    # the claim paid outside the SEPA file stays open, and is the only one the export page offers
    assert [c.state for c in claims_in(pk=cahit.pk)] == [Claim.STATE_APPROVED]
    with organizers(past_event):  # the export page
        assert list(claims.payable(past_event)) == [cahit]


@pytest.mark.django_db
def test_no_sepa_file_without_the_organizers_account(approved_claims, admin_client, past_event):
    del past_event.settings.grants_payout_iban
    r = export(admin_client, past_event, 'sepa', [c.pk for c in approved_claims])
    assert r.status_code == 302
    page = admin_client.get(r['Location'])
    assert 'enter your own account holder and IBAN' in page.content.decode()


@pytest.mark.django_db
def test_the_shredder_removes_receipt_files_and_payout_details(approved_claims, past_event):
    with scopes_disabled():
        receipts = list(Receipt.objects.all())
        lin = Grant.objects.create(event=past_event, name='Lin', email='lin@example.org',
                                   status=Grant.STATUS_CONFIRMED, travel_amount=Decimal('100.00'))
    assert receipts and all(r.file.storage.exists(r.file.name) for r in receipts)
    lins = submitted_claim(lin, '90.00')
    with organizers(past_event):
        claims.request_changes(lins, 'Please add the hotel bill of Lin.')
    # as pretix's shredder task runs it: in the organizer's scope
    with organizers(past_event):
        shredder = ClaimShredder(past_event)
        files = list(shredder.generate_files())
    assert files[0][0] == 'grant_claims.json' and IBAN in files[0][2]
    with organizers(past_event), committed():
        shredder.shred_data()
    assert not any(r.file.storage.exists(r.file.name) for r in receipts)
    with scopes_disabled():
        assert not Receipt.objects.exists()
        assert not Claim.objects.exclude(iban='').exists()
        assert not Claim.objects.exclude(account_holder='').exists() and not Claim.objects.exclude(bic='').exists()
        for le in LogEntry.objects.all():
            data = le.data or ''
            assert IBAN not in data and TR_IBAN not in data and 'hotel bill of Lin' not in data
        # the programme's accounts still add up
        assert sorted(Claim.objects.values_list('approved_amount', flat=True).exclude(approved_amount=None)) == [
            Decimal('100.00'), Decimal('199.99'), Decimal('240.50')]


@pytest.mark.django_db
def test_pretix_shredder_service_removes_claims_data_with_the_rest_of_the_grantees(approved_claims, past_event):
    with scopes_disabled():
        past_event.live = False
        past_event.save()
        receipts = list(Receipt.objects.all())
    with organizers(past_event):  # pretix's shredder page lists them
        assert {'pretix_grants', 'pretix_grants_claims'} <= set(past_event.get_data_shredders())
    with committed():
        files = run_shredder(past_event, ['pretix_grants', 'pretix_grants_claims'])
    assert IBAN in files['grant_claims.json']
    assert not any(r.file.storage.exists(r.file.name) for r in receipts)
    with scopes_disabled():
        assert not Receipt.objects.exists()
        assert not Claim.objects.exclude(iban='').exists()
        assert not Grant.objects.filter(event=past_event, email__endswith='example.org').exists()
