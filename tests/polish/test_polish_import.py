"""The CSV import reads the file in the character set the organizer chooses, UTF-8 by default, with or without BOM."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from pretix_grants.models import Grant

from ..control.conftest import url

CSV = 'Full name,E-Mail,Language\nKarl Müller,karl@example.org,de\n'


def upload(client, event, data, **post):
    r = client.post(url(event, 'import/'), {'file': SimpleUploadedFile('apps.csv', data, 'text/csv'), **post})
    assert r.status_code == 302, r.context['form'].errors
    return r['Location']


def import_file(client, event, map_url):
    r = client.post(map_url, {'col_name': 'Full name', 'col_email': 'E-Mail', 'col_locale': 'Language',
                              'step': 'import'})
    assert r.status_code == 302
    with scopes_disabled():
        return Grant.objects.get(event=event, email='karl@example.org')


@pytest.mark.django_db
def test_the_upload_offers_the_character_sets_with_utf8_chosen(manager_client, event):
    r = manager_client.get(url(event, 'import/'))
    html = r.content.decode()
    assert '<option value="utf8" selected>utf8</option>' in html
    assert '<option value="windows-1252">windows-1252</option>' in html


@pytest.mark.django_db
@pytest.mark.parametrize('data', [CSV.encode(), b'\xef\xbb\xbf' + CSV.encode()], ids=['utf8', 'utf8-with-bom'])
def test_a_utf8_file_keeps_its_accents(manager_client, event, data):
    map_url = upload(manager_client, event, data, charset='utf8')
    r = manager_client.get(map_url)
    # the BOM is not part of the first column's name: the column is recognised by its header
    assert r.context['form']['col_name'].initial == 'Full name'
    assert import_file(manager_client, event, map_url).name == 'Karl Müller'


@pytest.mark.django_db
def test_a_windows_file_is_read_in_the_character_set_chosen(manager_client, event):
    map_url = upload(manager_client, event, CSV.encode('cp1252'), charset='windows-1252')
    assert import_file(manager_client, event, map_url).name == 'Karl Müller'


@pytest.mark.django_db
def test_a_file_not_in_the_character_set_is_a_form_error(manager_client, event):
    r = manager_client.post(url(event, 'import/'), {
        'file': SimpleUploadedFile('apps.csv', CSV.encode('cp1252'), 'text/csv'), 'charset': 'utf8'})
    assert r.status_code == 200
    assert 'cannot be read as utf8' in ' '.join(r.context['form'].errors['file'])
