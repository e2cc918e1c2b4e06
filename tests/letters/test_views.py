"""
Asking for an invitation letter (letter_views.py, letter_forms.py): the form on the grantee's page and on pretix's
order page, its validation in the requester's language, and who may see and download which letter.
"""
from datetime import date, timedelta

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_scopes import scope, scopes_disabled

from pretix_grants.letters import rules as letters
from pretix_grants.models import Grant, LetterRequest

from .conftest import form_data, letter_data

# the form's own messages, as the requester reads them in their language (English until the catalogues exist)
MESSAGES = {
    'full_name': 'Please enter your name as printed in the Latin-script line of your passport.',
    'passport_number': 'A passport number has 5 to 20 letters and digits.',
    'passport_expiry': 'Your passport must be valid until after the event.',
    'date_of_birth': 'Your date of birth must be in the past.',
}


def in_language(msgid, lang):
    with translation.override(lang):
        return gettext(msgid)


def letter_page(grant):
    return f'/pyconf/2027/grant/{grant.secret}/letter/'


def reply_page(grant):
    return f'/pyconf/2027/grant/{grant.secret}/'


def order_page(order):
    return f'/pyconf/2027/order/{order.code}/{order.secret}/'


def errors_of(response):
    return response.context['letter_form'].errors


def organizers(event):
    """The letters' code as the organizer's letter pages run it: in the organizer's scope."""
    return scope(organizer=event.organizer)


@scopes_disabled()
def letters_of(**filters):
    return list(LetterRequest.objects.filter(**filters))


@pytest.mark.django_db
def test_a_grantee_requests_a_letter_from_their_page(client, grantee):
    html = client.get(reply_page(grantee)).content.decode()
    assert 'Invitation letter for your visa' in html
    assert f'href="{letter_page(grantee)}"' in html
    r = client.get(letter_page(grantee))
    assert r.status_code == 200
    assert 'name="letter-passport_number"' in r.content.decode()
    r = client.post(letter_page(grantee), form_data(passport_number='ex 123-4567'))
    assert r.status_code == 302 and r['Location'] == letter_page(grantee)
    [letter] = letters_of(grant=grantee)
    assert letter.status == LetterRequest.STATUS_REQUESTED
    assert letter.full_name == 'Łukasz Żółć' and letter.passport_number == 'EX1234567'
    assert letter.nationality.code == 'PL' and letter.date_of_birth == date(1990, 4, 17)
    assert letter.consulate.startswith('Embassy of Germany')
    html = client.get(letter_page(grantee)).content.decode()
    assert letter.reference in html and 'requested, the organizers are preparing it' in html
    # one letter at a time: no second form, and a second post changes nothing
    assert 'name="letter-passport_number"' not in html
    r = client.post(letter_page(grantee), form_data())
    assert r.status_code == 302
    assert len(letters_of(grant=grantee)) == 1
    assert letter.reference in client.get(reply_page(grantee)).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize('field', ['full_name', 'nationality', 'passport_number', 'passport_expiry', 'date_of_birth',
                                   'address', 'consulate'])
def test_every_field_is_required(client, grantee, field):
    data = form_data()
    data[f'letter-{field}'] = ''
    r = client.post(letter_page(grantee), data)
    assert r.status_code == 200
    assert list(errors_of(r)) == [field]
    assert errors_of(r)[field] == ['This field is required.']
    assert letters_of() == []


@pytest.mark.django_db
@pytest.mark.parametrize('field,value', [
    ('full_name', 'Лукаш Жулч'),
    ('full_name', '王小明'),
    ('passport_number', 'AB1'),
    ('passport_number', 'EX12345#7'),
    ('passport_expiry', None),  # the day the event ends
    ('date_of_birth', date.today() + timedelta(days=1)),
    ('nationality', 'XX'),
])
def test_each_field_is_checked(client, grantee, field, value):
    if field == 'passport_expiry':
        value = grantee.event.date_to.astimezone(grantee.event.timezone).date()
    r = client.post(letter_page(grantee), form_data(**{field: value}))
    assert r.status_code == 200
    assert list(errors_of(r)) == [field]
    html = r.content.decode()
    assert 'Please check the fields marked below.' in html
    if field in MESSAGES:
        assert errors_of(r)[field] == [MESSAGES[field]]
    assert letters_of() == []


@pytest.mark.django_db
def test_names_in_latin_script_with_diacritics_are_accepted(client, grantee):
    for name in ("Nguyễn Thị Ánh", "José Müller-Ø", "Seán O'Brien", "Zoë d'Artagnan"):
        r = client.post(letter_page(grantee), form_data(full_name=name))
        assert r.status_code == 302, errors_of(r)
        [letter] = letters_of(grant=grantee, status=LetterRequest.STATUS_REQUESTED)
        assert letter.full_name == name
        with organizers(grantee.event):
            letters.withdraw(letter, notify=False)


@pytest.mark.django_db
def test_the_form_speaks_the_grantees_language(client, grantee):
    with scopes_disabled():
        grantee.locale = 'de'
        grantee.save()
    r = client.get(letter_page(grantee))
    assert '<html lang="de"' in r.content.decode()
    # German dates: day.month.year; the English order month/day/year is not understood
    bad = form_data(full_name='Лукаш', passport_number='AB1', date_of_birth='', address='')
    bad['letter-passport_expiry'] = '04/17/2031'
    r = client.post(letter_page(grantee), bad)
    errors = errors_of(r)
    assert set(errors) == {'full_name', 'passport_number', 'passport_expiry', 'date_of_birth', 'address'}
    assert errors['address'] == ['Dieses Feld ist erforderlich.']  # Django's own catalogue
    assert errors['passport_expiry'] == ['Bitte ein gültiges Datum eingeben.']
    for field in ('full_name', 'passport_number'):
        assert errors[field] == [in_language(MESSAGES[field], 'de')]
    html = r.content.decode()
    assert in_language('Please check the fields marked below.', 'de') in html
    good = form_data()
    good['letter-passport_expiry'] = (date.today() + timedelta(days=1000)).strftime('%d.%m.%Y')
    good['letter-date_of_birth'] = '17.04.1990'
    r = client.post(letter_page(grantee), good)
    assert r.status_code == 302
    [letter] = letters_of(grant=grantee)
    assert letter.date_of_birth == date(1990, 4, 17) and letter.locale == 'de'


@pytest.mark.django_db
def test_english_dates_are_read_month_first(client, grantee):
    data = form_data()
    data['letter-date_of_birth'] = '17.04.1990'
    r = client.post(letter_page(grantee), data)
    assert errors_of(r)['date_of_birth'] == ['Enter a valid date.']
    data['letter-date_of_birth'] = '04/17/1990'
    assert client.post(letter_page(grantee), data).status_code == 302
    assert [x.date_of_birth for x in letters_of(grant=grantee)] == [date(1990, 4, 17)]


@pytest.mark.django_db
def test_requests_only_through_the_grants_own_secret_page(client, grantee, make_grant, letter_event, organizer):
    assert client.post(f'/pyconf/2027/grant/{"x" * 43}/letter/', form_data()).status_code == 404
    assert client.post(f'/pyconf/2027/grant/{grantee.secret[:-1]}X/letter/', form_data()).status_code == 404
    # another event's grant: its secret does not open a page here
    with scopes_disabled():
        other_event = organizer.events.create(name='Other', slug='other', date_from=letter_event.date_from,
                                              plugins='pretix_grants', live=True)
        other = Grant.objects.create(event=other_event, name='Other', email='other@example.org')
    assert client.post(f'/pyconf/2027/grant/{other.secret}/letter/', form_data()).status_code == 404
    # a rejected grant, or letters switched off: no form
    rejected = make_grant(Grant.STATUS_REJECTED)
    assert client.get(letter_page(rejected)).status_code == 404
    assert client.post(letter_page(rejected), form_data()).status_code == 404
    assert 'grant-letter-section' not in client.get(reply_page(rejected)).content.decode()
    letter_event.settings.grants_letters_grantees = False
    assert client.get(letter_page(grantee)).status_code == 404
    assert 'grant-letter-section' not in client.get(reply_page(grantee)).content.decode()
    assert letters_of() == []


@pytest.mark.django_db
def test_the_letter_is_downloaded_from_the_grantees_page_only(client, grantee, make_grant, letter_event):
    with organizers(letter_event):  # the grantee's request page, then the organizer's approval
        letter = letters.request_letter(letter_event, letter_data(), grant=grantee)
    pdf_url = f'{letter_page(grantee)}{letter.reference}/pdf/'
    assert client.get(pdf_url).status_code == 404  # not issued yet
    with organizers(letter_event):
        letter = letters.approve(letter)
    html = client.get(letter_page(grantee)).content.decode()
    assert f'href="{pdf_url}"' in html
    r = client.get(pdf_url)
    assert r.status_code == 200 and r['Content-Type'] == 'application/pdf'
    assert r['Content-Disposition'] == f'attachment; filename="invitation-letter-{letter.reference}.pdf"'
    with organizers(letter_event):
        assert b''.join(r) == letters.pdf_content(letter)
    # the grantee of another grant can't see it, with their own secret or a guess
    other = make_grant(Grant.STATUS_CONFIRMED)
    assert client.get(f'{letter_page(other)}{letter.reference}/pdf/').status_code == 404
    assert letter.reference not in client.get(letter_page(other)).content.decode()
    # a withdrawn letter is no longer handed out
    with organizers(letter_event):
        letters.withdraw(letter)
    assert client.get(pdf_url).status_code == 404
    assert 'withdrawn, no longer valid' in client.get(letter_page(grantee)).content.decode()


@pytest.mark.django_db
def test_a_ticket_holder_requests_a_letter_from_the_order_page(client, ticket_order, letter_event):
    html = client.get(order_page(ticket_order)).content.decode()
    assert 'Invitation letter for your visa' in html
    url = f'{order_page(ticket_order)}letter/'
    assert f'href="{url}"' in html
    r = client.post(url, form_data(full_name='Nguyễn Thị Ánh', nationality='VN'))
    assert r.status_code == 302 and r['Location'] == url
    [letter] = letters_of(order=ticket_order)
    assert letter.grant is None and letter.email == 'holder@example.org'
    # one letter per admission ticket
    assert client.post(url, form_data()).status_code == 302
    assert len(letters_of(order=ticket_order)) == 1
    with organizers(letter_event):
        letters.approve(letter)
    pdf_url = f'{url}{letter.reference}/pdf/'
    assert f'href="{pdf_url}"' in client.get(order_page(ticket_order)).content.decode()
    assert client.get(pdf_url)['Content-Type'] == 'application/pdf'
    # only under the order's own secret
    assert client.get(f'/pyconf/2027/order/{ticket_order.code}/{"a" * 16}/letter/').status_code == 404
    assert client.get(f'/pyconf/2027/order/{ticket_order.code}/{"a" * 16}/letter/{letter.reference}/pdf/'
                      ).status_code == 404


@pytest.mark.django_db
def test_ticket_holders_ask_only_if_the_organizers_let_them(client, ticket_order, letter_event):
    letter_event.settings.grants_letters_ticket_holders = False
    assert 'Invitation letter for your visa' not in client.get(order_page(ticket_order)).content.decode()
    assert client.get(f'{order_page(ticket_order)}letter/').status_code == 404
    assert client.post(f'{order_page(ticket_order)}letter/', form_data()).status_code == 404
    assert letters_of() == []
