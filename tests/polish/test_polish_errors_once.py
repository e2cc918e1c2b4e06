"""A form that was not saved says so once, and each field's error once, beside its field."""
import pytest
from django.test import Client


@pytest.mark.django_db
def test_the_letter_request_form_says_its_error_once(grantee):
    page = f'/{grantee.event.organizer.slug}/{grantee.event.slug}/grant/{grantee.secret}/letter/'
    r = Client().post(page, {'letter-full_name': ''})
    html = r.content.decode().split('<body', 1)[1]  # pretix names a page's error in its title too
    assert r.status_code == 200
    assert html.count('Please check the fields marked below.') == 1
    assert html.count('This field is required.') == 7  # once per field, beside it
