"""
Invitation letters in the control panel (control/letters.py): the queue, one request, approve / reject / withdraw,
bulk approval, corrections, settings, the export, and who may do what.
"""
import csv
import io

import openpyxl
import pytest
from django.core import mail as djmail
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled
from PIL import Image
from pypdf import PdfReader

from pretix_grants.control.exporters import GrantExporter
from pretix_grants.letters import rules as letters
from pretix_grants.letters.control import LetterExporter
from pretix_grants.models import Grant, LetterRequest
from pretix_grants.permissions import PERSONAL, VIEW

from .conftest import letter_data, pdf_text


def png(color):
    buf = io.BytesIO()
    Image.new('RGB', (300, 100), color).save(buf, 'PNG')
    return buf.getvalue()


def url(path=''):
    return f'/control/event/pyconf/2027/grants/letters/{path}'


def organizers(event):
    """The letters' code as the request pages, the organizer's pages and pretix's export task run it."""
    return scope(organizer=event.organizer)


@scopes_disabled()
def refreshed(letter):
    letter.refresh_from_db()


@pytest.fixture
def queue(letter_event, make_grant, ticket_order):
    with organizers(letter_event):
        a = letters.request_letter(letter_event, letter_data(), grant=make_grant(Grant.STATUS_CONFIRMED, name='A'))
        b = letters.request_letter(letter_event, letter_data(full_name='Nguyễn Thị Ánh'),
                                   grant=make_grant(Grant.STATUS_APPROVED, name='B'))
        c = letters.request_letter(letter_event, letter_data(full_name='José Müller-Ø',
                                                             passport_number='JM9988776'), order=ticket_order)
    djmail.outbox = []
    return a, b, c


PAGES = ['', '{pk}/', '{pk}/pdf/', 'settings/', '{pk}/edit/']
MANAGE_PAGES = {'settings/', '{pk}/edit/'}


@pytest.mark.django_db
def test_the_queue_and_its_filters(manager_client, queue):
    a, b, c = queue
    with organizers(a.event):
        letters.approve(a)
    html = manager_client.get(url()).content.decode()
    for letter in queue:
        assert letter.reference in html
    assert 'EX1234567' not in html  # the queue shows names and states; the data are on the request's page
    html = manager_client.get(url('?status=requested')).content.decode()
    assert a.reference not in html and b.reference in html and c.reference in html
    html = manager_client.get(url('?kind=order')).content.decode()
    assert c.reference in html and a.reference not in html and b.reference not in html
    html = manager_client.get(url('?query=Nguy')).content.decode()
    assert b.reference in html and a.reference not in html
    html = manager_client.get(url(f'?query={c.reference.lower()}')).content.decode()
    assert c.reference in html and b.reference not in html


@pytest.mark.django_db
def test_a_request_is_approved_from_its_page(manager_client, queue):
    a = queue[0]
    html = manager_client.get(url(f'{a.pk}/')).content.decode()
    assert 'EX1234567' in html and 'Łukasz Żółć' in html and 'Embassy of Germany' in html
    assert 'Preview the letter' in html
    r = manager_client.get(url(f'{a.pk}/pdf/'))
    assert r['Content-Type'] == 'application/pdf' and 'EX1234567' in pdf_text(r.content)[1]
    r = manager_client.post(url(f'{a.pk}/action/'), {'do': 'approve'})
    assert r.status_code == 302
    refreshed(a)
    assert a.status == LetterRequest.STATUS_APPROVED
    [mail] = djmail.outbox
    assert mail.to == [a.email] and len(mail.attachments) == 1
    html = manager_client.get(url(f'{a.pk}/')).content.decode()
    assert f'/pyconf/2027/letters/verify/{a.reference}/' in html
    assert 'The invitation letter {} has been issued.'.format(a.reference) in html
    # the stored letter is what the organizers see now
    with organizers(a.event):
        stored = letters.pdf_content(a)
    assert manager_client.get(url(f'{a.pk}/pdf/')).content == stored
    # approving twice changes nothing and says why
    r = manager_client.post(url(f'{a.pk}/action/'), {'do': 'approve'}, follow=True)
    assert 'cannot be approved' in r.content.decode()
    assert len(djmail.outbox) == 1


@pytest.mark.django_db
def test_reject_and_withdraw_with_a_reason(manager_client, queue):
    a, b, c = queue
    manager_client.post(url(f'{b.pk}/action/'), {'do': 'reject', 'reason': 'We need your registration first.'})
    refreshed(b)
    assert b.status == LetterRequest.STATUS_REJECTED and b.reason == 'We need your registration first.'
    assert 'We need your registration first.' in djmail.outbox[-1].body
    with organizers(a.event):
        letters.approve(a)
    manager_client.post(url(f'{a.pk}/action/'), {'do': 'withdraw', 'reason': 'Issued by mistake.'})
    refreshed(a)
    assert a.status == LetterRequest.STATUS_CANCELLED and a.pdf == ''
    assert djmail.outbox[-1].subject == 'Your invitation letter for PyConf 2027 has been withdrawn'
    assert manager_client.post(url(f'{a.pk}/action/'), {'do': 'nonsense'}).status_code == 302


@pytest.mark.django_db
def test_bulk_approve(manager_client, queue):
    a, b, c = queue
    with organizers(c.event):
        letters.reject(c, 'no')
    r = manager_client.post(url('bulk/'), {'letter': [a.pk, b.pk, c.pk]}, follow=True)
    html = r.content.decode()
    assert '2 letters have been issued.' in html
    assert '1 requests were not waiting for approval' in html
    with scopes_disabled():
        statuses = dict(LetterRequest.objects.values_list('pk', 'status'))
    assert statuses == {a.pk: 'approved', b.pk: 'approved', c.pk: 'rejected'}
    assert sum(1 for m in djmail.outbox if m.attachments) == 2


@pytest.mark.django_db
def test_a_correction_reissues_the_issued_letter(manager_client, queue):
    with organizers(queue[0].event):
        a = letters.approve(queue[0])
    djmail.outbox = []
    page = manager_client.get(url(f'{a.pk}/edit/'))
    assert page.status_code == 200
    data = {
        'full_name': 'Łukasz Żółć', 'nationality': 'PL', 'passport_number': 'NEW987654',
        'passport_expiry': a.passport_expiry.isoformat(), 'date_of_birth': '1990-04-17',
        'address': a.address, 'consulate': a.consulate,
    }
    r = manager_client.post(url(f'{a.pk}/edit/'), {**data, 'passport_expiry': '2000-01-01'})
    assert r.status_code == 200 and 'passport_expiry' in r.context['form'].errors
    r = manager_client.post(url(f'{a.pk}/edit/'), data)
    assert r.status_code == 302
    refreshed(a)
    assert a.passport_number == 'NEW987654' and a.status == LetterRequest.STATUS_APPROVED
    with organizers(a.event):
        assert 'NEW987654' in pdf_text(letters.pdf_content(a))[1]
    [mail] = djmail.outbox
    assert 'NEW987654' not in mail.body and len(mail.attachments) == 1


@pytest.mark.django_db
def test_settings_with_logo_and_signature(manager_client, letter_event, queue):
    r = manager_client.get(url('settings/'))
    assert r.status_code == 200
    form = r.context['form']
    data = {
        'grants_letters_grantees': 'on', 'grants_letters_ticket_holders': 'on', 'grants_letters_auto_approve': 'on',
        'grants_letter_text_0': 'We invite {name} ({passport_number}) to {event}. Reference {reference}.',
        'grants_letter_text_1': 'Wir laden {name} ({passport_number}) zu {event} ein. Referenz {reference}.',
        'grants_letter_signatory_name': 'Ada Lovelace', 'grants_letter_signatory_role': 'Chair',
        'grants_letter_contact': 'PyConf\nBerlin',
        'grants_letter_logo': SimpleUploadedFile('logo.png', png('navy'), 'image/png'),
        'grants_letter_signature': SimpleUploadedFile('signature.png', png('black'), 'image/png'),
    }
    for name, field in form.fields.items():
        if name.startswith('grants_mail_'):
            for i, lc in enumerate(['en', 'de']):
                data[f'{name}_{i}'] = str(field.initial.localize(lc)) if field.initial else 'x'
    r = manager_client.post(url('settings/'), data)
    assert r.status_code == 302, r.context['form'].errors
    s = letter_event.settings
    assert s.grants_letters_auto_approve and s.grants_letter_signatory_name == 'Ada Lovelace'
    assert s.grants_letter_logo and s.grants_letter_signature
    content = manager_client.get(url(f'{queue[0].pk}/pdf/')).content
    reader, text = pdf_text(content)
    flat = ' '.join(text.split())
    assert f'We invite Łukasz Żółć (EX1234567) to PyConf 2027. Reference {queue[0].reference}.' in flat
    assert 'Ada Lovelace' in flat
    images = [n for n, x in reader.pages[0]['/Resources']['/XObject'].items()]
    assert len(images) == 2  # letterhead and signature


@pytest.mark.django_db
def test_the_export_holds_the_requests_and_only_it_the_passport_numbers(letter_event, queue):
    # pretix's export task renders them in the organizer's scope
    with organizers(letter_event):
        name, ctype, data = LetterExporter(event=letter_event, organizer=letter_event.organizer).render(
            {'_format': 'default'})
    rows = list(csv.reader(io.StringIO(data.decode('utf-8-sig'))))
    assert rows[0][:7] == ['Reference', 'Status', 'Requested by', 'Email', 'Full name as in the passport',
                           'Nationality', 'Passport number']
    by_ref = {r[0]: r for r in rows[1:]}
    assert set(by_ref) == {lr.reference for lr in queue}
    assert by_ref[queue[2].reference][6] == 'JM9988776'
    assert by_ref[queue[2].reference][2] == f'Order {queue[2].order.code}'
    with organizers(letter_event):
        name, ctype, data = LetterExporter(event=letter_event, organizer=letter_event.organizer).render(
            {'_format': 'xlsx'})
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert len(list(ws.iter_rows())) == 4
    # the grants' export does not carry passport data
    with organizers(letter_event):
        name, ctype, data = GrantExporter(event=letter_event, organizer=letter_event.organizer).render(
            {'_format': 'default'})
    assert b'EX1234567' not in data and b'JM9988776' not in data
    assert LetterExporter.get_required_event_permission() == PERSONAL


@pytest.mark.django_db
@pytest.mark.parametrize('page', PAGES)
def test_a_viewer_sees_but_cannot_act(client, viewer, queue, page):
    a = queue[0]
    client.force_login(viewer)
    r = client.get(url(page.format(pk=a.pk)))
    # the letter's PDF holds the passport data: only with the personal data permission
    assert r.status_code == (403 if page in MANAGE_PAGES or page == '{pk}/pdf/' else 200)
    for path, data in ((f'{a.pk}/action/', {'do': 'approve'}), ('bulk/', {'letter': [a.pk]})):
        assert client.post(url(path), data).status_code == 403
    refreshed(a)
    assert a.status == LetterRequest.STATUS_REQUESTED


@pytest.mark.django_db
@pytest.mark.parametrize('page', PAGES)
def test_team_without_the_plugins_permission_gets_403(client, team_member, queue, page):
    client.force_login(team_member({'event.orders:read': True}, 'orders@example.org'))
    assert client.get(url(page.format(pk=queue[0].pk))).status_code == 403
    assert client.post(url(f'{queue[0].pk}/action/'), {'do': 'approve'}).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize('page', PAGES)
def test_another_organizers_team_gets_404(client, queue, page, outsider):
    client.force_login(outsider)
    assert client.get(url(page.format(pk=queue[0].pk))).status_code == 404
    assert client.post(url(f'{queue[0].pk}/action/'), {'do': 'approve'}).status_code == 404
    assert client.get(f'/control/event/other/o/grants/letters/{queue[0].pk}/pdf/').status_code == 404


@pytest.mark.django_db
def test_navigation_entry(manager_client, team_member, client, letter_event):
    html = manager_client.get('/control/event/pyconf/2027/grants/').content.decode()
    assert 'href="/control/event/pyconf/2027/grants/letters/"' in html
    assert PdfReader  # the PDF checks above use pypdf
    assert VIEW
