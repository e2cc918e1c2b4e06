from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from pretix_grants.models import Grant

from ..conftest import committed, mails_to
from .conftest import url

CSV = '''Full name,E-Mail,Language,Travel,Hotel,Motivation
Ada Lovelace,ada@example.org,en,300,120.50,First program
Bad Mail,not-an-email,en,0,0,
Grace Hopper,grace@example.org,fr,0,0,
Alan Turing,alan@example.org,de,"12,50",0,
Ada Again,ADA@example.org,en,0,0,
Negative,neg@example.org,en,-5,0,
Existing,old@example.org,en,0,0,
,nameless@example.org,en,0,0,
No Mail,,en,0,0,
'''


def upload(client, event, content=CSV):
    r = client.post(url(event, 'import/'), {'file': SimpleUploadedFile('apps.csv', content.encode(), 'text/csv')})
    assert r.status_code == 302, r.context['form'].errors
    return r['Location']


@scopes_disabled()
def grant_count(event=None):
    return (Grant.objects.filter(event=event) if event else Grant.objects.all()).count()


@scopes_disabled()
def grant_of(event, email):
    return Grant.objects.get(event=event, email=email)


def mapping(**extra):
    return {'col_name': 'Full name', 'col_email': 'E-Mail', 'col_locale': 'Language', 'col_requested_travel': 'Travel',
            'col_requested_accommodation': 'Hotel', 'col_motivation': 'Motivation', **extra}


def problems(response):
    return {r['line']: ' '.join(r['errors']) for r in response.context['rows']}


@pytest.mark.django_db
def test_preview_shows_errors_per_row_and_imports_valid_rows_only(manager_client, event, make_grant):
    make_grant(email='old@example.org')
    map_url = upload(manager_client, event)
    r = manager_client.get(map_url)
    assert r.status_code == 200
    form = r.context['form']
    # columns are recognised by their headers
    assert form['col_email'].initial == 'E-Mail' and form['col_requested_accommodation'].initial == 'Hotel'
    # amounts in an application export are what was asked for: nothing maps to the granted amounts by itself
    assert form['col_requested_travel'].initial == 'Travel' and form['col_travel_amount'].initial == ''

    r = manager_client.post(map_url, mapping(step='preview'))
    p = problems(r)
    assert p[2] == '' and p[5] == ''
    assert 'not a valid email address' in p[3]
    assert 'Unknown language "fr"' in p[4]
    assert 'more than once' in p[6]
    assert 'must not be negative' in p[7]
    assert 'already is a grant' in p[8]
    assert 'name is missing' in p[9]
    assert 'email address is missing' in p[10]
    assert r.context['valid'] == 2
    assert grant_count(event) == 1  # a preview imports nothing

    with committed():
        r = manager_client.post(map_url, mapping(step='import', notify='on'))
    assert r.status_code == 302
    ada = grant_of(event, 'ada@example.org')
    assert (ada.name, ada.requested_travel, ada.requested_accommodation, ada.motivation) == (
        'Ada Lovelace', Decimal('300.00'), Decimal('120.50'), 'First program')
    assert (ada.travel_amount, ada.accommodation_amount, ada.requested_ticket, ada.ticket) == (
        Decimal('0.00'), Decimal('0.00'), True, True)
    alan = grant_of(event, 'alan@example.org')
    assert alan.locale == 'de' and alan.requested_travel == Decimal('12.50')
    assert grant_count(event) == 3
    assert len(mails_to('ada@example.org')) == 1

    # the same file again: nothing new
    map_url = upload(manager_client, event)
    r = manager_client.post(map_url, mapping(step='preview'))
    assert r.context['valid'] == 0
    assert 'already is a grant' in problems(r)[2]
    with committed():
        manager_client.post(map_url, mapping(step='import', notify='on'))
    assert grant_count(event) == 3
    assert len(mails_to('ada@example.org')) == 1


@pytest.mark.django_db
def test_import_needs_name_and_email_columns(manager_client, event):
    map_url = upload(manager_client, event)
    r = manager_client.post(map_url, {'col_name': 'Full name', 'step': 'import'})
    assert r.status_code == 200 and 'col_email' in r.context['form'].errors
    assert grant_count() == 0


@pytest.mark.django_db
def test_not_a_csv_file_is_a_form_error(manager_client, event):
    r = manager_client.post(url(event, 'import/'), {'file': SimpleUploadedFile('x.bin', b'\x00\xff\xfe' * 10)})
    assert r.status_code == 200 and 'file' in r.context['form'].errors


@pytest.mark.django_db
def test_import_file_of_another_session_is_404(manager_client, client, viewer, manager, event):
    map_url = upload(manager_client, event)
    from django.test import Client

    other = Client()
    other.force_login(manager)
    assert other.get(map_url).status_code == 404


@pytest.mark.django_db
def test_requested_and_granted_columns_are_kept_apart_and_approve_as_requested_uses_the_request(manager_client, event):
    csv = ('Name,Email,Travel,Hotel,Ticket,Granted travel,Granted ticket\n'
           'Ada Lovelace,ada@example.org,470.50,100,yes,200,no\n'
           'Alan Turing,alan@example.org,80,0,no,,\n')
    map_url = upload(manager_client, event, csv)
    form = manager_client.get(map_url).context['form']
    assert (form['col_requested_travel'].initial, form['col_travel_amount'].initial) == ('Travel', 'Granted travel')
    assert (form['col_requested_ticket'].initial, form['col_ticket'].initial) == ('Ticket', 'Granted ticket')
    columns = ('name', 'email', 'requested_travel', 'requested_accommodation', 'requested_ticket', 'travel_amount',
               'ticket')
    data = {f'col_{k}': form[f'col_{k}'].initial for k in columns}
    r = manager_client.post(map_url, {**data, 'step': 'preview'})
    html = r.content.decode()
    assert '€470.50' in html and '€200.00' in html
    with committed():
        manager_client.post(map_url, {**data, 'step': 'import'})
    ada = grant_of(event, 'ada@example.org')
    assert (ada.requested_travel, ada.requested_accommodation, ada.requested_ticket) == (
        Decimal('470.50'), Decimal('100.00'), True)
    assert (ada.travel_amount, ada.accommodation_amount, ada.ticket) == (Decimal('200.00'), Decimal('0.00'), False)
    alan = grant_of(event, 'alan@example.org')
    assert (alan.requested_travel, alan.travel_amount, alan.requested_ticket, alan.ticket) == (
        Decimal('80.00'), Decimal('0.00'), False, False)


TYPES_CSV = '''Name,Email,Type
Ada Lovelace,ada@example.org,Speaker support
Grace Hopper,grace@example.org,speaker
Alan Turing,alan@example.org,
Edsger Dijkstra,edsger@example.org,Application
Barbara Liskov,barbara@example.org,Unterstützung für Vortragende
Donald Knuth,donald@example.org,Keynote
'''


@pytest.mark.django_db
def test_the_type_column_of_the_grant_list_export_is_read_back(manager_client, event):
    map_url = upload(manager_client, event, TYPES_CSV)
    assert manager_client.get(map_url).context['form']['col_grant_type'].initial == 'Type'
    cols = {'col_name': 'Name', 'col_email': 'Email', 'col_grant_type': 'Type'}
    r = manager_client.post(map_url, {**cols, 'step': 'preview'})
    p = problems(r)
    assert [p[n] for n in range(2, 7)] == [''] * 5
    assert 'Unknown type "Keynote"' in p[7] and 'Speaker support' in p[7]
    assert 'Speaker support' in r.content.decode()  # the preview shows each row's type
    with committed():
        assert manager_client.post(map_url, {**cols, 'step': 'import'}).status_code == 302
    types = {e: grant_of(event, f'{e}@example.org').grant_type for e in ('ada', 'grace', 'alan', 'edsger', 'barbara')}
    assert types == {'ada': Grant.TYPE_SPEAKER, 'grace': Grant.TYPE_SPEAKER, 'alan': Grant.TYPE_APPLICATION,
                     'edsger': Grant.TYPE_APPLICATION, 'barbara': Grant.TYPE_SPEAKER}
    assert grant_count(event) == 5
