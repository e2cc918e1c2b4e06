from decimal import Decimal

import pytest
from django_scopes import scopes_disabled
from pretix.base.models import LogEntry

from pretix_grants.models import Grant

from ..conftest import committed, mails_to
from .conftest import url

VALID = {'name': 'Grace Hopper', 'email': 'grace@example.org', 'locale': 'de', 'ticket': 'on',
         'travel_amount': '250.00', 'accommodation_amount': '0', 'other_amount': '0', 'notify': 'on'}


@pytest.mark.django_db
def test_create_grant(manager_client, event):
    with committed():
        r = manager_client.post(url(event, 'add/'), VALID)
    with scopes_disabled():
        g = Grant.objects.get(event=event)
    assert r.status_code == 302 and r['Location'].endswith(f'/grants/{g.pk}/')
    assert (g.name, g.locale, g.travel_amount, g.status) == ('Grace Hopper', 'de', Decimal('250.00'), 'pending')
    assert len(mails_to('grace@example.org')) == 1
    with scopes_disabled():
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.created', object_id=g.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize('change,field', [
    ({'email': 'not-an-email'}, 'email'),
    ({'locale': 'fr'}, 'locale'),
    ({'travel_amount': '-1'}, 'travel_amount'),
    ({'other_amount': 'lots'}, 'other_amount'),
    ({'name': ''}, 'name'),
    ({'email': 'ADA@example.org'}, 'email'),
])
def test_create_rejects_bad_input_with_a_form_error(manager_client, event, make_grant, change, field):
    make_grant(email='ada@example.org')
    r = manager_client.post(url(event, 'add/'), {**VALID, **change})
    assert r.status_code == 200
    assert field in r.context['form'].errors
    with scopes_disabled():
        assert Grant.objects.filter(event=event).count() == 1


@pytest.mark.django_db
def test_edit_grant(manager_client, event, make_grant):
    make_grant(email='taken@example.org')
    g = make_grant(email='me@example.org')
    data = {**VALID, 'email': 'Taken@example.org'}
    r = manager_client.post(url(event, f'{g.pk}/edit/'), data)
    assert r.status_code == 200 and 'email' in r.context['form'].errors
    data['email'] = 'me@example.org'
    data['accommodation_amount'] = '99.50'
    r = manager_client.post(url(event, f'{g.pk}/edit/'), data)
    assert r.status_code == 302
    with scopes_disabled():
        g.refresh_from_db()
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.changed', object_id=g.pk).exists()
    assert g.accommodation_amount == Decimal('99.50') and g.name == 'Grace Hopper'
