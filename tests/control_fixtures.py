import pytest
from pretix.base.models import User

from pretix_grants.permissions import MANAGE, VIEW


def url(event, path=''):
    return f'/control/event/{event.organizer.slug}/{event.slug}/grants/{path}'


@pytest.fixture
def team_member(event):
    def make(permissions, name=None):
        user = User.objects.create_user(name or f'member{len(permissions)}-{"-".join(permissions)}@example.org', 'x')
        team = event.organizer.teams.create(name='Team', all_events=True, limit_event_permissions=permissions)
        team.members.add(user)
        return user
    return make


@pytest.fixture
def manager(team_member):
    return team_member({VIEW: True, MANAGE: True}, 'manager@example.org')


@pytest.fixture
def viewer(team_member):
    return team_member({VIEW: True}, 'viewer@example.org')


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client
