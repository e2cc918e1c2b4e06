import pytest
from pretix.base.models import User

from pretix_grants.permissions import MANAGE, VIEW


@pytest.fixture
def member(event):
    def make(permissions):
        user = User.objects.create_user(f'{len(permissions)}-{"-".join(permissions)}@example.org', 'x')
        team = event.organizer.teams.create(name='T', all_events=True, limit_event_permissions=permissions)
        team.members.add(user)
        return user
    return make


@pytest.mark.django_db
def test_view_and_manage_are_separate_team_permissions(member, event):
    viewer = member({VIEW: True})
    manager = member({VIEW: True, MANAGE: True})
    outsider = member({})
    org = event.organizer
    assert viewer.has_event_permission(org, event, VIEW) and not viewer.has_event_permission(org, event, MANAGE)
    assert manager.has_event_permission(org, event, MANAGE)
    assert not outsider.has_event_permission(org, event, VIEW)


@pytest.mark.django_db
def test_team_settings_offer_the_grant_permissions(client, event, user):
    team = event.organizer.teams.create(name='Admins', all_events=True, all_event_permissions=True,
                                        all_organizer_permissions=True)
    team.members.add(user)
    client.force_login(user)
    response = client.get(f'/control/organizer/{event.organizer.slug}/team/{team.pk}/edit')
    assert response.status_code == 200
    assert 'Applications for financial aid' in response.content.decode()
