"""
Visa invitation letters (letters.py, letter_pdf.py): the states of a request, the PDF as a consulate reads it, the
mails and log entries, the verification page, and the shredder.
"""
import io
from decimal import Decimal
from urllib.parse import urlsplit

import pypdfium2
import pytest
import zxingcpp
from django.core import mail as djmail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from PIL import Image
from pretix.base.models import LogEntry, OutgoingMail
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from pretix_grants import workflow
from pretix_grants.letters import pdf as letter_pdf, rules as letters
from pretix_grants.letters.shredder import LetterShredder
from pretix_grants.models import Grant, LetterRequest
from pretix_grants.permissions import MANAGE, PERSONAL, VIEW

from ..conftest import committed
from .conftest import NAMES, letter_data, pdf_text


def verify_path(letter):
    return f'/{letter.event.organizer.slug}/{letter.event.slug}/letters/verify/{letter.reference}/'


def organizers(event):
    """The letters' code as the organizer's pages and the grantee's request page run it: in the organizer's scope."""
    return scope(organizer=event.organizer)


@scopes_disabled()
def fresh(letter):
    return LetterRequest.objects.get(pk=letter.pk)


@pytest.mark.django_db
def test_a_request_is_logged_and_mailed_without_passport_data(requested_letter, grantee):
    letter = requested_letter
    assert letter.status == LetterRequest.STATUS_REQUESTED
    assert letter.email == 'lukasz@example.org'
    [mail] = djmail.outbox
    assert mail.to == ['lukasz@example.org']
    assert letter.reference in mail.body
    assert 'EX1234567' not in mail.body
    with scopes_disabled():
        entries = list(LogEntry.objects.filter(object_id=letter.pk, action_type__startswith='pretix_grants.letter.'))
    assert {e.action_type for e in entries} == {'pretix_grants.letter.requested', 'pretix_grants.letter.mail.sent'}
    for e in entries:
        assert 'EX1234567' not in e.data
        assert '1990' not in e.data


@pytest.mark.django_db
def test_approval_renders_the_pdf_and_mails_it_as_an_attachment(requested_letter, grantee):
    djmail.outbox = []
    with organizers(grantee.event):
        letter = letters.approve(requested_letter)
    assert letter.status == LetterRequest.STATUS_APPROVED
    assert letter.issued_at is not None
    assert letter.pdf.startswith('cachedfiles/pretix_grants/letters/')
    assert default_storage.exists(letter.pdf)
    [mail] = djmail.outbox
    assert mail.subject == 'Your invitation letter for PyConf 2027'
    [(filename, content, mimetype)] = mail.attachments
    assert filename == f'invitation-letter-{letter.reference}.pdf'
    assert mimetype == 'application/pdf'
    with organizers(grantee.event):
        assert content == letters.pdf_content(letter)
    assert 'EX1234567' not in mail.body
    with scopes_disabled():
        om = OutgoingMail.objects.get(to=['lukasz@example.org'], subject=mail.subject)
    assert 'EX1234567' not in (om.body_plain or '')


@pytest.mark.django_db
def test_the_states_of_a_request(requested_letter, grantee):
    with organizers(grantee.event):
        letter = letters.reject(requested_letter, 'We could not confirm your registration.')
    assert letter.status == LetterRequest.STATUS_REJECTED
    assert 'We could not confirm your registration.' in djmail.outbox[-1].body
    with organizers(grantee.event):
        for step in (letters.approve, letters.withdraw):
            with pytest.raises(letters.LetterError):
                step(letter)
        # rejected requests do not count: the grantee may ask again, and the new one can be issued and withdrawn
        assert letters.can_add(grant=grantee)
        second = letters.request_letter(grantee.event, letter_data(), grant=grantee)
        assert not letters.can_add(grant=grantee)
    assert second.reference != letter.reference
    with organizers(grantee.event):
        letters.approve(second)
    pdf = second.pdf if second.pdf else fresh(second).pdf
    with organizers(grantee.event):
        second = letters.withdraw(fresh(second), 'Issued by mistake.')
    assert second.status == LetterRequest.STATUS_CANCELLED
    assert second.pdf == '' and not default_storage.exists(pdf)
    with organizers(grantee.event):
        assert letters.pdf_content(second) is None
        with pytest.raises(letters.LetterError):
            letters.approve(second)


@pytest.mark.django_db
def test_grantees_of_rejected_or_cancelled_grants_and_disabled_setting_cannot_request(letter_event, make_grant):
    with organizers(letter_event):  # the grantee's page asks
        for status in (Grant.STATUS_REJECTED, Grant.STATUS_CANCELLED):
            assert not letters.can_add(grant=make_grant(status))
        for status in (Grant.STATUS_PENDING, Grant.STATUS_APPROVED, Grant.STATUS_WAITING_LIST,
                       Grant.STATUS_CONFIRMED):
            assert letters.can_add(grant=make_grant(status))
        letter_event.settings.grants_letters_grantees = False
        assert not letters.can_add(grant=make_grant(Grant.STATUS_CONFIRMED))


@pytest.mark.django_db
def test_confirmed_grantees_get_their_letter_at_once_if_the_organizers_want(letter_event, grantee, make_grant):
    letter_event.settings.grants_letters_auto_approve = True
    with organizers(letter_event):
        letter = letters.request_letter(letter_event, letter_data(), grant=grantee)
    assert letter.status == LetterRequest.STATUS_APPROVED
    with scopes_disabled():
        approved = LogEntry.objects.get(object_id=letter.pk, action_type='pretix_grants.letter.approved')
    assert approved.parsed_data == {'reference': letter.reference, 'actor': 'system'}
    pending = make_grant(Grant.STATUS_APPROVED)
    with organizers(letter_event):
        later = letters.request_letter(letter_event, letter_data(), grant=pending)
    assert later.status == LetterRequest.STATUS_REQUESTED


@pytest.mark.django_db
def test_the_pdf_of_a_grantee(requested_letter, letter_event):
    with organizers(letter_event):
        letter = letters.approve(requested_letter)
        reader, text = pdf_text(letters.pdf_content(letter))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    flat = ' '.join(text.split())
    assert 'Łukasz Żółć' in flat
    assert 'EX1234567' in flat
    assert 'Poland' in flat
    assert letter_event.get_date_range_display(letter_event.timezone) in flat
    assert 'Congress Center Hamburg, Marseiller Str. 2, 20355 Hamburg' in flat
    assert 'travel costs of up to €450.00' in flat
    assert 'accommodation costs of up to €320.00' in flat
    assert 'a free ticket' in flat
    assert letter.reference in flat
    assert 'Embassy of Germany' in flat
    assert 'Grace Hopper' in flat and 'Chair of the grants committee' in flat
    assert f'http://example.com{verify_path(letter)}' in flat
    assert 'April 17, 1990' in flat


@pytest.mark.django_db
def test_the_qr_code_opens_this_letters_verification_page(client, requested_letter):
    """What a consulate's phone reads from the letter's QR code, rendered as printed and scanned at 150 dpi."""
    with organizers(requested_letter.event):
        letter = letters.approve(requested_letter)
        content = letters.pdf_content(letter)
    image = pypdfium2.PdfDocument(content)[0].render(scale=150 / 72).to_pil()
    codes = zxingcpp.read_barcodes(image)
    assert [c.format for c in codes] == [zxingcpp.BarcodeFormat.QRCode]
    assert codes[0].text == f'http://example.com{verify_path(letter)}'
    html = client.get(urlsplit(codes[0].text).path).content.decode()
    assert 'This letter is valid.' in html and 'Łukasz Żółć' in html


@pytest.mark.django_db
def test_the_pdf_of_a_ticket_holder_names_no_grant(letter_event, ticket_order):
    with organizers(letter_event):
        letter = letters.request_letter(letter_event, letter_data(full_name='Nguyễn Thị Ánh', nationality='VN'),
                                        order=ticket_order)
        assert letter.email == 'holder@example.org'
        letter = letters.approve(letter)
        reader, text = pdf_text(letters.pdf_content(letter))
    flat = ' '.join(text.split())
    assert len(reader.pages) == 1
    assert 'Nguyễn Thị Ánh holds a ticket for the event.' in flat
    assert 'Viet' in flat  # the nationality
    assert 'awarded a grant' not in flat and 'up to' not in flat
    assert '€' not in flat


@pytest.mark.django_db
@pytest.mark.parametrize('status', [Grant.STATUS_PENDING, Grant.STATUS_WAITING_LIST, Grant.STATUS_REFUSED,
                                    Grant.STATUS_EXPIRED])
def test_a_letter_states_no_grant_that_has_not_been_awarded(letter_event, make_grant, status):
    grant = make_grant(status, name='Ines Araújo', email='ines@example.org', travel_amount=Decimal('450.00'))
    with organizers(letter_event):
        letter = letters.approve(letters.request_letter(letter_event, letter_data(full_name='Ines Araújo'),
                                                        grant=grant))
        flat = ' '.join(pdf_text(letters.pdf_content(letter))[1].split())
    assert 'Ines Araújo' in flat and 'PyConf 2027' in flat
    assert 'awarded' not in flat and 'free ticket' not in flat and '€' not in flat
    # once the organizers have offered it, a letter rendered from then on states it
    with scopes_disabled():
        Grant.objects.filter(pk=grant.pk).update(status=Grant.STATUS_APPROVED)
    with organizers(letter_event):
        flat = ' '.join(pdf_text(letters.render(fresh(letter)))[1].split())
    assert 'Ines Araújo has been awarded a grant by the organizers, which covers a free ticket; travel costs of ' \
           'up to €450.00.' in flat


@pytest.mark.django_db
@pytest.mark.parametrize('name', NAMES)
def test_names_with_diacritics_print_without_missing_glyphs(letter_event, grantee, name):
    with organizers(letter_event):
        letter = letters.request_letter(letter_event, letter_data(full_name=name), grant=grantee)
    # the font is one pretix ships for its invoices, and it has a glyph for every letter of the name
    path = letter_pdf.font_path()
    assert path.endswith('pretix/static/fonts/OpenSans-Regular.ttf')
    letter_pdf.register_fonts()
    face = pdfmetrics.getFont(letter_pdf.FONT).face
    assert [ch for ch in name if ord(ch) not in face.charToGlyph] == []
    with organizers(letter_event):
        content = letters.render(letter)
    reader = PdfReader(io.BytesIO(content))
    fonts = {str(f['/BaseFont']) for f in reader.pages[0]['/Resources']['/Font'].values()
             if '/BaseFont' in f.get_object()}
    assert any('OpenSans' in f for f in fonts), fonts
    assert not any('Helvetica' in f or 'Times' in f for f in fonts), fonts
    assert name in ' '.join(pdf_text(content)[1].split())


@pytest.mark.django_db
def test_a_long_text_still_fits_on_one_page(requested_letter, letter_event):
    letter_event.settings.grants_letter_text = '\n\n'.join(['{name} is invited. ' * 40] * 6)
    with organizers(letter_event):
        reader, text = pdf_text(letters.render(requested_letter))
    assert len(reader.pages) == 1
    assert requested_letter.reference in text


@pytest.mark.django_db
def test_a_correction_reissues_the_letter_with_the_same_reference(requested_letter):
    with organizers(requested_letter.event):
        letter = letters.approve(requested_letter)
    old_pdf = letter.pdf
    djmail.outbox = []
    with organizers(requested_letter.event):
        letter = letters.correct(letter, {'passport_number': 'ZZ7654321', 'full_name': 'Lukasz Zolc'})
    assert letter.pdf != old_pdf and not default_storage.exists(old_pdf)
    with organizers(requested_letter.event):
        flat = ' '.join(pdf_text(letters.pdf_content(letter))[1].split())
    assert 'ZZ7654321' in flat and 'EX1234567' not in flat and letter.reference in flat
    [mail] = djmail.outbox
    assert len(mail.attachments) == 1
    with scopes_disabled():
        changed = LogEntry.objects.get(object_id=letter.pk, action_type='pretix_grants.letter.changed')
    assert changed.parsed_data == {'reference': letter.reference, 'fields': ['full_name', 'passport_number']}
    assert 'ZZ7654321' not in changed.data


@pytest.mark.django_db
def test_the_verification_page(client, requested_letter):
    letter = requested_letter
    # a request that never became a letter is unknown
    assert client.get(verify_path(letter)).status_code == 404
    with organizers(letter.event):
        letter = letters.approve(letter)
    r = client.get(verify_path(letter))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'This letter is valid.' in html
    assert 'Łukasz Żółć' in html and 'PyConf 2027' in html
    for secret in ('EX1234567', 'Poland', 'Warszawa', 'Embassy', '1990', 'lukasz@example.org'):
        assert secret not in html
    # the reference as printed, also typed in lower case
    assert client.get(verify_path(letter).lower().replace('/pyconf/2027/letters/verify/', '/pyconf/2027/letters/verify/')
                      ).status_code == 200
    with organizers(letter.event):
        letters.withdraw(letter)
    html = client.get(verify_path(letter)).content.decode()
    assert 'This letter has been withdrawn by the organizers and is not valid.' in html
    assert 'This letter is valid.' not in html
    assert client.get('/pyconf/2027/letters/verify/AAAA-BBBB-CCCC-DDDD/').status_code == 404


@pytest.mark.django_db
def test_references_are_unique_and_unguessable(letter_event, make_grant):
    with organizers(letter_event):
        refs = {letters.request_letter(letter_event, letter_data(),
                                       grant=make_grant(Grant.STATUS_CONFIRMED)).reference for _ in range(20)}
    assert len(refs) == 20
    for ref in refs:
        assert len(ref.replace('-', '')) == 16  # 16 characters of 32: 80 random bits


@pytest.mark.django_db
def test_the_shredder_removes_passport_data_and_pdfs(requested_letter, letter_event, grantee, ticket_order):
    with organizers(letter_event):
        issued = letters.approve(requested_letter)
        withdrawn_reason = 'Passport EX1234567 was reported lost.'
        other = letters.request_letter(letter_event, letter_data(full_name='José Müller-Ø'), order=ticket_order)
        letters.reject(other, withdrawn_reason)
    pdf = issued.pdf
    assert default_storage.exists(pdf)
    with organizers(letter_event):  # as pretix's shredder task runs it
        shredder = LetterShredder(letter_event)
        exported = ''.join(str(content) for name, mime, content in shredder.generate_files())
    assert 'EX1234567' in exported  # the download pretix offers before shredding
    with organizers(letter_event), committed():  # the file goes once the shredding has committed (files.py)
        shredder.shred_data()
    assert not default_storage.exists(pdf)
    with scopes_disabled():
        for letter in LetterRequest.objects.filter(event=letter_event):
            assert letter.shredded
            assert letter.passport_number == '' and letter.passport_expiry is None and letter.date_of_birth is None
            assert letter.nationality is None and letter.address == '' and letter.consulate == ''
            assert letter.pdf == ''
            assert letter.full_name == '█'
            assert letter.reference  # the verification page still answers, without a name
        for le in LogEntry.objects.filter(event=letter_event, action_type__startswith='pretix_grants.letter.'):
            assert 'EX1234567' not in le.data
        issued.refresh_from_db()
    with organizers(letter_event):
        assert letters.pdf_content(issued) is None


@pytest.mark.django_db
def test_the_control_panel_preview_of_a_request(client, requested_letter, team_member, letter_event):
    url = reverse('plugins:pretix_grants:control.letter.pdf', kwargs={
        'organizer': 'pyconf', 'event': '2027', 'letter': requested_letter.pk})
    client.force_login(team_member({VIEW: True}, 'viewer-letters@example.org'))
    assert client.get(url).status_code == 403, 'the letter holds the passport data'
    client.force_login(team_member({VIEW: True, MANAGE: True, PERSONAL: True}, 'letters@example.org'))
    r = client.get(url)
    assert r.status_code == 200 and r['Content-Type'] == 'application/pdf'
    assert len(PdfReader(io.BytesIO(r.content)).pages) == 1


@pytest.mark.django_db
def test_a_waiting_request_is_issued_when_the_grantee_confirms_if_the_organizers_want(letter_event, make_grant,
                                                                                      grant_settings):
    letter_event.settings.grants_letters_auto_approve = True
    # automatic approval only for the grant's own name (letters.rules.name_matches)
    grant = make_grant(Grant.STATUS_APPROVED, name='Łukasz Żółć')
    with organizers(letter_event):
        letter = letters.request_letter(letter_event, letter_data(), grant=grant)
    assert letter.status == LetterRequest.STATUS_REQUESTED
    with organizers(letter_event), committed():  # the grantee's reply page
        workflow.confirm(grant, actor=workflow.GRANTEE)
    letter = fresh(letter)
    with organizers(letter_event):
        assert letter.status == LetterRequest.STATUS_APPROVED and letters.pdf_content(letter)
    # without the setting, the request waits for the organizers
    letter_event.settings.grants_letters_auto_approve = False
    other = make_grant(Grant.STATUS_APPROVED)
    with organizers(letter_event):
        waiting = letters.request_letter(letter_event, letter_data(), grant=other)
    with organizers(letter_event), committed():
        workflow.confirm(other, actor=workflow.GRANTEE)
    waiting = fresh(waiting)
    assert waiting.status == LetterRequest.STATUS_REQUESTED


@pytest.mark.django_db
def test_the_events_logo_is_the_default_letterhead(requested_letter, letter_event):
    def images(content):
        resources = PdfReader(io.BytesIO(content)).pages[0]['/Resources']
        return list(resources['/XObject']) if '/XObject' in resources else []

    with organizers(letter_event):
        assert images(letters.render(requested_letter)) == []
    buf = io.BytesIO()
    Image.new('RGB', (400, 120), 'navy').save(buf, 'PNG')
    path = default_storage.save('pub/pyconf/2027/logo.png', ContentFile(buf.getvalue()))
    letter_event.settings.logo_image = 'file://' + path
    with organizers(letter_event):
        assert len(images(letters.render(requested_letter))) == 1
