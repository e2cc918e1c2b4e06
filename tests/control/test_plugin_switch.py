"""The plugin switch: an event that turned the plugin off has no grant pages, no grant export and no grant API."""
import uuid

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from pretix_grants.control import urls as control_urls
from pretix_grants.defaults import LETTER_MAIL_TEMPLATES, MAIL_TEMPLATES
from pretix_grants.models import Grant, PayoutBatch

from ..claims.conftest import submitted_claim
from ..conftest import api_client_for

NOT_ENABLED = 'The grants plugin is not enabled for this event.'


@scopes_disabled()
def every_control_url(event, grant, letter, claim):
    """One URL for each pattern of control/urls.py, so that a page added there is checked here too."""
    batch = PayoutBatch.objects.create(event=event, format=PayoutBatch.FORMAT_CSV, filename='payout.csv',
                                       content=b'Name,IBAN,Amount\r\n')
    values = {'batch': batch.pk, 'organizer': event.organizer.slug, 'event': event.slug, 'grant': grant.pk,
              'key': next(iter(MAIL_TEMPLATES)), 'file': uuid.uuid4(), 'run': uuid.uuid4(),
              'letter': letter.pk, 'claim': claim.pk, 'receipt': claim.items.first().receipts.first().pk}
    urls = []
    for pattern in control_urls.urlpatterns:
        names = pattern.pattern.regex.groupindex
        unknown = set(names) - set(values)
        assert not unknown, f'{pattern.name}: add a value for {unknown} to this test'
        kwargs = {n: values[n] for n in names}
        if pattern.name == 'control.letters.preview':  # a letter mail's template, not a grant mail's
            kwargs['key'] = next(iter(LETTER_MAIL_TEMPLATES))
        urls.append((pattern.name, reverse(f'plugins:pretix_grants:{pattern.name}', kwargs=kwargs)))
    return urls


@scopes_disabled()
def switch_off(event):
    event.plugins = ','.join(p for p in event.get_plugins() if p != 'pretix_grants')
    event.save()


@pytest.fixture
def grant(make_grant, grant_settings):
    return make_grant(Grant.STATUS_PENDING, name='Ada Lovelace', email='ada@example.org')


@pytest.mark.django_db
def test_every_control_page_is_404_where_the_plugin_is_off(admin_client, event, past_event, grant, requested_letter):
    urls = every_control_url(event, grant, requested_letter, submitted_claim(requested_letter.grant))
    assert len(urls) == len(control_urls.urlpatterns) >= 13

    # switched on, the guard lets every page through (an unknown import file or bulk run is the page's own 404;
    # pages for POST only answer a GET with 405)
    for name, u in urls:
        r = admin_client.get(u)
        assert NOT_ENABLED.encode() not in (b''.join(r.streaming_content) if r.streaming else r.content), name
        if name == 'control.insights.report':  # asked for without its language and format: the page's own 400
            assert r.status_code == 400, (name, r.status_code)
        elif name not in ('control.import.map', 'control.bulk.result'):
            assert r.status_code in (200, 302, 405), (name, r.status_code)

    switch_off(event)

    @scopes_disabled()
    def state():
        return list(Grant.objects.filter(event=event).order_by('pk').values()), event.logentry_set.count()

    before = state()
    for name, u in urls:
        for method in (admin_client.get, admin_client.post):
            r = method(u, {'decision': 'approve'} if method == admin_client.post else None)
            assert r.status_code == 404, (name, method.__name__, r.status_code)
            assert NOT_ENABLED in r.content.decode(), name
    assert state() == before


@pytest.mark.django_db
def test_sidebar_and_export_follow_the_plugin_switch(admin_client, event, grant):
    with scopes_disabled():
        api = api_client_for(event.organizer.teams.create(name='API', all_events=True, all_event_permissions=True))
    exporters = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/exporters/'
    dashboard = f'/control/event/{event.organizer.slug}/{event.slug}/'
    grants_url = reverse('plugins:pretix_grants:control.list',
                         kwargs={'organizer': event.organizer.slug, 'event': event.slug})

    assert 'pretix_grants' in {e['identifier'] for e in api.get(exporters).json()['results']}
    assert grants_url in admin_client.get(dashboard).content.decode()

    switch_off(event)
    assert 'pretix_grants' not in {e['identifier'] for e in api.get(exporters).json()['results']}
    r = api.post(exporters + 'pretix_grants/run/', {'_format': 'default'}, format='json')
    assert r.status_code == 404
    export_page = admin_client.get(dashboard + 'orders/export/')
    assert export_page.status_code == 200 and 'pretix_grants' not in export_page.content.decode()
    assert grants_url not in admin_client.get(dashboard).content.decode()
