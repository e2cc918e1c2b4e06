from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.models import Event, Organizer, User

from pretix_grants.permissions import MANAGE, PERSONAL, VIEW


def url(event, path=''):
    return f'/control/event/{event.organizer.slug}/{event.slug}/grants/{path}'


@pytest.fixture
@scopes_disabled()
def team_member(event):
    @scopes_disabled()
    def make(permissions, name=None):
        user = User.objects.create_user(name or f'member{len(permissions)}-{"-".join(permissions)}@example.org', 'x')
        team = event.organizer.teams.create(name='Team', all_events=True, limit_event_permissions=permissions)
        team.members.add(user)
        return user
    return make


@pytest.fixture
@scopes_disabled()
def admin_team(event, user):
    """A team with every permission of the organizer, ``user`` its member."""
    team = event.organizer.teams.create(name='Admins', all_events=True, all_event_permissions=True,
                                        all_organizer_permissions=True)
    team.members.add(user)
    return team


@pytest.fixture
@scopes_disabled()
def outsider(db):
    """A user with every permission of another organizer, which has an event with the plugin of its own."""
    other = Organizer.objects.create(name='Other', slug='other')
    Event.objects.create(organizer=other, name='Other', slug='o', date_from=now() + timedelta(days=3),
                         plugins='pretix_grants')
    user = User.objects.create_user('other@example.org', 'x')
    other.teams.create(name='All', all_events=True, all_event_permissions=True).members.add(user)
    return user


@pytest.fixture
def admin_client(client, admin_team, user):
    client.force_login(user)
    return client


@pytest.fixture
@scopes_disabled()
def manager(team_member):
    # as the migration 0012_trust leaves a team that managed grants: with the personal data permission
    return team_member({VIEW: True, MANAGE: True, PERSONAL: True}, 'manager@example.org')


@pytest.fixture
@scopes_disabled()
def viewer(team_member):
    return team_member({VIEW: True}, 'viewer@example.org')


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


class _FormScraper(HTMLParser):
    """The values a browser would submit for the page's forms (first selected option, checked boxes only)."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea, self._first_option = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get('name')
        if tag == 'input' and name and a.get('type') not in ('submit', 'button'):
            if a.get('type') in ('checkbox', 'radio'):
                if 'checked' in a:
                    self.data[name] = a.get('value', 'on')
            else:
                self.data[name] = a.get('value', '')
        elif tag == 'select' and name:
            self._select, self._first_option = name, True
        elif tag == 'option' and self._select:
            if 'selected' in a or self._first_option:
                self.data[self._select] = a.get('value', '')
            self._first_option = False
        elif tag == 'textarea' and name:
            self._textarea = name
            self.data[name] = ''

    def handle_endtag(self, tag):
        if tag == 'select':
            self._select = None
        elif tag == 'textarea' and self._textarea:
            # browsers drop the newline right after <textarea>
            if self.data[self._textarea].startswith('\n'):
                self.data[self._textarea] = self.data[self._textarea][1:]
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_data(response):
    p = _FormScraper()
    p.feed(response.content.decode())
    p.data.pop('csrfmiddlewaretoken', None)
    return p.data
