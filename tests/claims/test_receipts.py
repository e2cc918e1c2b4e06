"""
Receipts: only real PDF, JPEG and PNG files, judged by their content, are kept; any other upload is refused with a
clear error and leaves nothing behind. A receipt is served only under its grant's secret page, and to organizers of
its own event.
"""
import html

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_scopes import scopes_disabled
from pretix.base.models import Event, Organizer, User

from pretix_grants.claims import rules as claims
from pretix_grants.models import Claim, Grant, Receipt

from ..conftest import committed
from .conftest import (
    PDF, claim_url, form, jpeg_bytes, png_bytes, receipt_files,
    submitted_claim, upload,
)

EXE = b'MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00' + b'\x00' * 64
HTML = b'<!DOCTYPE html><html><script>alert(1)</script></html>'


@scopes_disabled()
def stored_receipts():
    return list(Receipt.objects.all())


@scopes_disabled()
def no_claim_and_no_receipt():
    return not Claim.objects.exists() and not Receipt.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize('name,content,error', [
    ('invoice.pdf', EXE, 'is not a PDF, JPEG or PNG file'),
    ('invoice.pdf', HTML, 'is not a PDF, JPEG or PNG file'),
    ('photo.jpg', b'GIF89a' + b'\x00' * 20, 'is not a PDF, JPEG or PNG file'),
    ('empty.pdf', b'', 'The submitted file is empty.'),
    ('huge.pdf', PDF + b'0' * (claims.MAX_RECEIPT_SIZE + 1 - len(PDF)), 'is larger than 10 MB'),
])
def test_a_bad_file_is_refused_with_a_form_error_and_nothing_is_stored(claim_grant, name, content, error):
    before = receipt_files()
    r = Client().post(claim_url(claim_grant), {**form('save'), 'travel_receipts': upload(name, content)})
    assert r.status_code == 200
    assert error in r.content.decode()
    assert 'Your claim was not saved' in r.content.decode()
    assert no_claim_and_no_receipt()
    assert receipt_files() == before


@pytest.mark.django_db
def test_one_bad_file_among_good_ones_stores_none_of_them(claim_grant):
    before = receipt_files()
    r = Client().post(claim_url(claim_grant), {**form('save'), 'travel_receipts': [
        upload('a.pdf'), upload('b.png', png_bytes(), 'image/png'), upload('c.pdf', HTML, 'application/pdf')]})
    assert r.status_code == 200
    assert '"c.pdf" is not a PDF, JPEG or PNG file' in html.unescape(r.content.decode())
    assert stored_receipts() == [] and receipt_files() == before


@pytest.mark.parametrize('name', ['../../etc/passwd.pdf', 'dir/receipt.pdf', '..\\..\\win.pdf', '.htaccess',
                                  'a\x00b.pdf'])
def test_a_file_name_with_a_path_is_refused(name):
    # Django's upload parser and UploadedFile cut paths from names; the rule holds for any file object handed in
    f = upload()
    f._name = name
    with pytest.raises(ValidationError) as e:
        claims.check_receipt(f)
    assert 'is not allowed. Please rename the file' in str(e.value)


@pytest.mark.django_db
def test_a_path_sent_in_the_name_never_reaches_the_storage(claim_grant):
    r = Client().post(claim_url(claim_grant), {**form('save'), 'travel_receipts': upload('../../../outside.pdf')})
    assert r.status_code == 302
    [receipt] = stored_receipts()
    assert receipt.file.name.startswith('cachedfiles/pretix_grants/receipts/pyconf/2027/')
    assert '..' not in receipt.file.name and 'outside' not in receipt.file.name


@pytest.mark.django_db
def test_good_receipts_are_kept_with_the_type_their_content_has(claim_grant):
    r = Client().post(claim_url(claim_grant), {**form('save'), 'travel_receipts': [
        upload('scan.PDF'), upload('photo.jpeg', jpeg_bytes(), 'application/octet-stream'),
        upload('shot.png', png_bytes(), 'image/png')]})
    assert r.status_code == 302
    assert sorted(r.content_type for r in stored_receipts()) == [
        'application/pdf', 'image/jpeg', 'image/png']


@pytest.mark.django_db
def test_the_grantee_gets_their_receipt_and_removes_it(claim_grant):
    Client().post(claim_url(claim_grant), {**form('save'), 'travel_receipts': upload('photo.jpg', jpeg_bytes())})
    [receipt] = stored_receipts()
    r = Client().get(f'{claim_url(claim_grant)}receipt/{receipt.pk}/')
    assert r.status_code == 200
    assert r['Content-Type'] == 'image/jpeg'
    assert r['Content-Disposition'].startswith('inline')
    assert 'no-store' in r['Cache-Control'] and r['X-Content-Type-Options'] == 'nosniff'
    assert b''.join(r.streaming_content) == jpeg_bytes()
    name = receipt.file.name
    with committed():  # the file goes once the removal has committed
        Client().post(claim_url(claim_grant), {**form('save'), 'remove_receipts': [str(receipt.pk)]})
    assert stored_receipts() == []
    assert not receipt.file.storage.exists(name)


@pytest.mark.django_db
def test_a_receipt_url_without_the_grants_secret_is_a_404(claim_grant, make_grant):
    submitted_claim(claim_grant)
    [receipt] = stored_receipts()
    other = make_grant(Grant.STATUS_CONFIRMED, name='Mallory', email='mallory@example.org')
    base = f'/{claim_grant.event.organizer.slug}/{claim_grant.event.slug}/grant/'
    for url in (f'{claim_url(other)}receipt/{receipt.pk}/',  # another grant's secret
                f'{base}{"x" * 43}/claim/receipt/{receipt.pk}/',  # a made-up secret
                f'{base}{claim_grant.secret[:20]}/claim/receipt/{receipt.pk}/',  # part of the secret
                f'{claim_url(claim_grant)}receipt/{receipt.pk + 1}/'):  # a receipt that is not there
        assert Client().get(url).status_code == 404, url
    # no public URL: the storage's own URL is refused by pretix's web server configuration (cachedfiles/)
    assert receipt.file.name.startswith('cachedfiles/')


@pytest.mark.django_db
def test_a_receipt_in_the_control_panel_only_for_its_own_events_organizers(claim_grant, client, user, admin_team):
    submitted_claim(claim_grant)
    with scopes_disabled():
        claim = Claim.objects.get()
    [receipt] = stored_receipts()
    ev = claim_grant.event
    url = f'/control/event/{ev.organizer.slug}/{ev.slug}/grants/claims/{claim.pk}/receipt/{receipt.pk}/'

    client.force_login(user)
    assert client.get(url).status_code == 200

    with scopes_disabled():
        other_org = Organizer.objects.create(name='Other', slug='other')
        Event.objects.create(organizer=other_org, name='Other 2027', slug='2027', currency='EUR',
                             date_from=ev.date_from, plugins='pretix_grants')
        stranger = User.objects.create_user('stranger@example.org', 'x')
        team = other_org.teams.create(name='Other', all_events=True, all_event_permissions=True)
        team.members.add(stranger)
    c = Client()
    c.force_login(stranger)
    assert c.get(url).status_code == 404  # another organizer's event does not exist for them
    assert c.get(f'/control/event/other/2027/grants/claims/{claim.pk}/receipt/{receipt.pk}/').status_code == 404

    with scopes_disabled():
        no_grants = User.objects.create_user('nogrants@example.org', 'x')
        t = ev.organizer.teams.create(name='Shop', all_events=True,
                                      limit_event_permissions={'event.orders:read': True})
        t.members.add(no_grants)
    c = Client()
    c.force_login(no_grants)
    assert c.get(url).status_code == 403  # a team of this organizer without the grants permission
