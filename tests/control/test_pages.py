from datetime import timedelta

import pytest
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.models import Event, User

from pretix_grants.models import Grant

from .conftest import url

PAGES = ['', 'add/', 'settings/', '{pk}/', '{pk}/edit/', 'settings/preview/voucher/', 'import/']
MANAGE_PAGES = {'add/', 'settings/', '{pk}/edit/', 'import/'}


@pytest.fixture
def grant(make_grant, grant_settings):
    return make_grant(Grant.STATUS_PENDING, name='Ada Lovelace', email='ada@example.org')


@pytest.mark.django_db
@pytest.mark.parametrize('page', PAGES)
def test_pages_render_for_a_manager(manager_client, event, grant, page):
    r = manager_client.get(url(event, page.format(pk=grant.pk)))
    assert r.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize('page', PAGES)
def test_viewer_reads_but_does_not_manage(client, viewer, event, grant, page):
    client.force_login(viewer)
    r = client.get(url(event, page.format(pk=grant.pk)))
    assert r.status_code == (403 if page in MANAGE_PAGES else 200)


@pytest.mark.django_db
@pytest.mark.parametrize('page', PAGES + ['{pk}/action/', 'bulk/'])
def test_team_without_grant_permission_gets_403(client, team_member, event, grant, page):
    client.force_login(team_member({'event.orders:read': True}))
    assert client.get(url(event, page.format(pk=grant.pk))).status_code == 403
    assert client.post(url(event, page.format(pk=grant.pk)), {'operation': 'cancel'}).status_code == 403
    with scopes_disabled():
        grant.refresh_from_db()
    assert grant.status == Grant.STATUS_PENDING


@pytest.mark.django_db
@pytest.mark.parametrize('page', PAGES)
def test_other_organizers_user_gets_404(client, event, grant, page, outsider):
    client.force_login(outsider)
    assert client.get(url(event, page.format(pk=grant.pk))).status_code == 404


@pytest.mark.django_db
def test_grant_of_another_event_is_404(manager_client, event, organizer):
    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='Other', slug='o',
                                     date_from=now() + timedelta(days=3), plugins='pretix_grants')
        g = Grant.objects.create(event=other, name='X', email='x@example.org')
    assert manager_client.get(url(event, f'{g.pk}/')).status_code == 404
    assert manager_client.post(url(event, f'{g.pk}/action/'), {'operation': 'cancel'}).status_code == 404


@pytest.mark.django_db
def test_navigation_entry_only_with_permission(client, team_member, viewer, event):
    client.force_login(viewer)
    r = client.get(f'/control/event/{event.organizer.slug}/{event.slug}/')
    assert url(event) in r.content.decode()
    other = team_member({'event.orders:read': True})
    client.force_login(other)
    r = client.get(f'/control/event/{event.organizer.slug}/{event.slug}/')
    assert r.status_code == 200
    assert url(event) not in r.content.decode()


@pytest.mark.django_db
def test_demo_data_shows_in_the_control_panel(client):
    from django.core.management import call_command

    from ..conftest import committed

    with committed():  # a shell's command: no scope
        call_command('grants_demo')
    with scopes_disabled():
        event = Event.objects.get(slug='2027', organizer__slug='democon')
        admin = User.objects.get(email='admin@localhost')
        grants = list(event.grants.all())
    client.force_login(admin)
    r = client.get(url(event))
    assert r.status_code == 200 and len(r.context['grants']) == 12
    for g in grants:
        assert client.get(url(event, f'{g.pk}/')).status_code == 200
    assert client.get(url(event, 'settings/')).status_code == 200
