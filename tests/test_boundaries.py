"""
Access boundaries: whoever may not see or change a grant gets pretix's 403 or 404 and changes nothing, in the
control panel, the REST API and on the grantee's page; and what grantees type is never read as HTML.
"""
import html
import uuid
from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.models import (
    Event, LogEntry, Organizer, OutgoingMail, User, Voucher,
)
from pretix.base.permissions import get_all_event_permissions
from rest_framework.test import APIClient

from pretix_grants import workflow
from pretix_grants.models import Grant, GrantMail
from pretix_grants.permissions import MANAGE, VIEW

from .conftest import committed, event_scope
from .control.conftest import url

CONTROL_PAGES = ['', 'add/', 'settings/', 'settings/preview/voucher/', 'import/', 'bulk/', '{pk}/', '{pk}/edit/',
                 '{pk}/action/']
CONTROL_POSTS = [
    ('{pk}/action/', {'operation': 'cancel', 'reason': 'x'}),
    ('{pk}/action/', {'operation': 'stage', 'decision': 'approved'}),
    ('{pk}/edit/', {'name': 'Changed', 'email': 'changed@example.org', 'locale': 'en'}),
    ('add/', {'name': 'New', 'email': 'new@example.org', 'locale': 'en'}),
    ('bulk/', {'operation': 'cancel', 'scope': 'selected', 'grant': ['{pk}'], 'run': str(uuid.uuid4())}),
    ('settings/', {'grants_reply_days': '1'}),
]
API_READS = ['', '{pk}/']
API_WRITES = [
    ('post', '', {'name': 'New', 'email': 'new@example.org'}),
    ('patch', '{pk}/', {'name': 'Changed'}),
    ('put', '{pk}/', {'name': 'Changed', 'email': 'changed@example.org'}),
    ('delete', '{pk}/', None),
    ('post', '{pk}/decide/', {'decision': 'rejected'}),
    ('post', '{pk}/publish/', {}),
    ('post', '{pk}/confirm/', {'reason': 'x'}),
    ('post', '{pk}/refuse/', {'reason': 'x'}),
    ('post', '{pk}/cancel/', {'reason': 'x'}),
    ('post', '{pk}/link_voucher/', {'code': 'FREE'}),
    ('post', '{pk}/resend_voucher/', {}),
    ('post', 'publish/', {'ids': ['{pk}']}),
]
HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_NOTE = '<img src=x onerror=alert("note")>'
HOSTILE_REASON = '<b onmouseover=alert("reason")>late</b>'


@pytest.fixture
@scopes_disabled()
def other_event(organizer):
    return Event.objects.create(organizer=organizer, name='Other conference', slug='other', currency='EUR',
                                date_from=now() + timedelta(days=30), plugins='pretix_grants', live=True)


@pytest.fixture
@scopes_disabled()
def foreign_organizer():
    org = Organizer.objects.create(name='Elsewhere', slug='elsewhere')
    Event.objects.create(organizer=org, name='Their conf', slug='2027', date_from=now() + timedelta(days=3),
                         plugins='pretix_grants')
    return org


@pytest.fixture
def grant(make_grant, grant_settings, item, event):
    """An offered grant (every action is possible) next to a free voucher someone might try to link to it."""
    with scopes_disabled():
        event.vouchers.create(code='FREE', item=item, price_mode='set', value=0)
    g = make_grant(Grant.STATUS_APPROVED, name='Ada Lovelace', email='ada@example.org', decision=None)
    return g


@scopes_disabled()
def snapshot(*grants):
    """Everything a request could change about these grants: rows, history, mails, vouchers."""
    ids = [g.pk for g in grants]
    return (
        list(Grant.objects.filter(pk__in=ids).order_by('pk').values()),
        list(LogEntry.objects.filter(content_type__model='grant', object_id__in=ids).values_list('pk', 'data')),
        GrantMail.objects.filter(grant__in=ids).count(),
        Grant.objects.count(),
        Voucher.objects.count(),
        len(djmail.outbox),
    )


def user_in(org, name, events=None, **perms):
    user = User.objects.create_user(f'{name}@example.org', 'x')
    team = org.teams.create(name=name, all_events=events is None, **perms)
    if events:
        team.limit_events.add(*events)
    team.members.add(user)
    return user


def api_for(org, events=None, **perms):
    team = org.teams.create(name='API', all_events=events is None, **perms)
    if events:
        team.limit_events.add(*events)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION='Token ' + team.tokens.create(name='t').token)
    return c


def api_url(event, path=''):
    return f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/{path}'


def fill(value, pk):
    if isinstance(value, dict):
        return {k: fill(v, pk) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, pk) for v in value]
    if value == '{pk}':
        return pk
    return value.format(pk=pk) if isinstance(value, str) else value


def control_outsiders(event, other_event, foreign_organizer):
    """Users who must not reach ``event``'s grants, each with every other right they could have."""
    everything_else = {p: True for p in get_all_event_permissions() if p not in (VIEW, MANAGE)}
    return {
        'another organizer': user_in(foreign_organizer, 'foreign', all_event_permissions=True,
                                     all_organizer_permissions=True),
        'a team of the other event only': user_in(event.organizer, 'other-event', events=[other_event],
                                                  all_event_permissions=True),
        'a team without the grant permissions': user_in(event.organizer, 'no-grants',
                                                        limit_event_permissions=everything_else),
    }


# control panel


@pytest.mark.django_db
def test_control_panel_outsiders_cannot_read_or_change(client, event, other_event, foreign_organizer, grant):
    before = snapshot(grant)
    for who, user in control_outsiders(event, other_event, foreign_organizer).items():
        client.force_login(user)
        for page in CONTROL_PAGES:
            r = client.get(url(event, page.format(pk=grant.pk)))
            assert r.status_code in (403, 404), (who, page, r.status_code)
        for page, data in CONTROL_POSTS:
            r = client.post(url(event, page.format(pk=grant.pk)), fill(data, grant.pk))
            assert r.status_code in (403, 404), (who, page, r.status_code)
    assert snapshot(grant) == before
    assert event.settings.grants_reply_days == 14


@pytest.mark.django_db
def test_control_panel_outsiders_get_pretix_answers(client, event, other_event, foreign_organizer, grant):
    users = control_outsiders(event, other_event, foreign_organizer)
    expected = {'another organizer': 404, 'a team of the other event only': 404,
                'a team without the grant permissions': 403}
    for who, user in users.items():
        client.force_login(user)
        assert client.get(url(event, f'{grant.pk}/')).status_code == expected[who], who
        # and what pretix itself answers for a page of the event they may not see
        pretix_page = client.get(f'/control/event/{event.organizer.slug}/{event.slug}/vouchers/').status_code
        if who != 'a team without the grant permissions':
            assert pretix_page == expected[who], who


@pytest.mark.django_db
def test_control_panel_event_b_never_reaches_a_grant_of_event_a(client, event, other_event, grant, user):
    """A manager of both events, on event B's pages, with the ids of event A's grant."""
    team = event.organizer.teams.create(name='Both', all_events=True, all_event_permissions=True)
    team.members.add(user)
    client.force_login(user)
    with scopes_disabled():
        mine = Grant.objects.create(event=other_event, name='Bob', email='bob@example.org')
    before = snapshot(grant)
    for page in ['{pk}/', '{pk}/edit/']:
        assert client.get(url(other_event, page.format(pk=grant.pk))).status_code == 404
    for page, data in CONTROL_POSTS[:3]:
        assert client.post(url(other_event, page.format(pk=grant.pk)), fill(data, grant.pk)).status_code == 404
    # a bulk action on event B with event A's grant selected, and with "all that match"
    for scope in ('selected', 'all'):
        r = client.post(url(other_event, 'bulk/'), {'operation': 'cancel', 'scope': scope, 'grant': [grant.pk, mine.pk],
                                                    'run': str(uuid.uuid4()), 'filter': ''}, follow=True)
        assert r.status_code == 200
        assert 'Ada' not in r.content.decode()
    assert snapshot(grant) == before

    # event A's bulk result is not shown under event B
    r = client.post(url(event, 'bulk/'), {'operation': 'stage', 'decision': 'rejected', 'scope': 'selected',
                                          'grant': [grant.pk], 'run': str(uuid.uuid4())})
    result = r.url if r.status_code == 302 else r.json()['redirect']
    assert client.get(result).status_code == 200
    run = result.rstrip('/').rsplit('/', 1)[1]
    assert client.get(url(other_event, f'bulk/{run}/')).status_code == 404


# REST API


def api_outsiders(event, other_event, foreign_organizer):
    everything_else = {p: True for p in get_all_event_permissions() if p not in (VIEW, MANAGE)}
    return {
        'another organizer': (api_for(foreign_organizer, all_event_permissions=True), 403),
        'a team of the other event only': (api_for(event.organizer, events=[other_event],
                                                   all_event_permissions=True), 403),
        'a team without the grant permissions': (api_for(event.organizer,
                                                         limit_event_permissions=everything_else), 403),
    }


@pytest.mark.django_db
def test_api_outsiders_cannot_read_or_change(event, other_event, foreign_organizer, grant):
    before = snapshot(grant)
    for who, (api, code) in api_outsiders(event, other_event, foreign_organizer).items():
        for path in API_READS:
            r = api.get(api_url(event, path.format(pk=grant.pk)))
            assert r.status_code == code and 'detail' in r.data, (who, path, r.status_code)
        for method, path, data in API_WRITES:
            r = getattr(api, method)(api_url(event, path.format(pk=grant.pk)), fill(data, grant.pk), format='json')
            assert r.status_code == code and 'detail' in r.data, (who, method, path, r.status_code)
    assert snapshot(grant) == before


@pytest.mark.django_db
def test_api_viewer_cannot_change(event, grant):
    viewer = api_for(event.organizer, limit_event_permissions={VIEW: True})
    before = snapshot(grant)
    assert viewer.get(api_url(event, f'{grant.pk}/')).status_code == 200
    for method, path, data in API_WRITES:
        r = getattr(viewer, method)(api_url(event, path.format(pk=grant.pk)), fill(data, grant.pk), format='json')
        assert r.status_code == 403, (method, path, r.status_code)
    assert snapshot(grant) == before


@pytest.mark.django_db
def test_api_event_b_never_reaches_a_grant_of_event_a(event, other_event, grant):
    api = api_for(event.organizer, all_event_permissions=True)
    before = snapshot(grant)
    assert api.get(api_url(other_event, f'{grant.pk}/')).status_code == 404
    for method, path, data in API_WRITES:
        if '{pk}' not in path:
            continue
        r = getattr(api, method)(api_url(other_event, path.format(pk=grant.pk)), fill(data, grant.pk),
                                 format='json')
        assert r.status_code == 404, (method, path, r.status_code)
    r = api.post(api_url(other_event, 'publish/'), {'ids': [grant.pk]}, format='json')
    assert r.status_code == 400 and str(grant.pk) in str(r.data['ids'])
    assert [g['id'] for g in api.get(api_url(other_event)).data['results']] == []
    assert api.get(api_url(other_event) + '?search=ada').data['count'] == 0
    assert snapshot(grant) == before


@pytest.mark.django_db
def test_api_event_without_the_plugin_is_404(event, grant):
    event.plugins = ''
    event.save()
    api = api_for(event.organizer, all_event_permissions=True)
    before = snapshot(grant)
    assert api.get(api_url(event)).status_code == 404
    assert api.post(api_url(event, f'{grant.pk}/cancel/'), {}, format='json').status_code == 404
    assert snapshot(grant) == before


# the grantee's page


def reply_url(grant, secret=None):
    return f'/{grant.event.organizer.slug}/{grant.event.slug}/grant/{secret or grant.secret}/'


@pytest.mark.django_db
def test_grantee_page_of_x_never_acts_on_y(client, event, grant, make_grant):
    y = make_grant(Grant.STATUS_APPROVED, name='Yvonne', email='y@example.org')
    before = snapshot(y)
    tampered = {'grant': y.pk, 'id': y.pk, 'pk': y.pk, 'secret': y.secret, 'email': y.email, 'status': 'confirmed'}
    r = client.post(reply_url(grant), {'answer': 'decline', **tampered})
    assert r.status_code == 200 and 'Yvonne' not in r.content.decode()
    with committed(event.organizer):
        r = client.post(reply_url(grant), {'answer': 'confirm', **tampered})
    assert r.status_code == 302 and r.url == reply_url(grant)
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED and grant.voucher_id
    with committed(event.organizer):
        client.post(reply_url(grant), {'answer': 'decline', 'really': 'yes', **tampered})
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_REFUSED
    assert snapshot(y)[:3] == before[:3]
    y.refresh_from_db()
    assert y.status == Grant.STATUS_APPROVED and not y.voucher_id


@pytest.mark.django_db
def test_grantee_page_secrets_never_mix(client, event, other_event, grant, make_grant):
    y = make_grant(Grant.STATUS_APPROVED, name='Yvonne', email='y@example.org')
    # the same selector with another grant's tail, either way round, and the secret under another event
    mixed = [grant.secret[:16] + y.secret[16:], y.secret[:16] + grant.secret[16:], grant.secret[:-1],
             grant.secret + 'A', grant.secret.upper(), grant.secret[:16]]
    before = snapshot(grant, y)
    for secret in mixed:
        assert client.get(reply_url(grant, secret)).status_code == 404, secret
        assert client.post(reply_url(grant, secret), {'answer': 'confirm'}).status_code == 404, secret
    other = f'/{other_event.organizer.slug}/{other_event.slug}/grant/{grant.secret}/'
    assert client.get(other).status_code == 404
    assert client.post(other, {'answer': 'confirm'}).status_code == 404
    assert snapshot(grant, y) == before


# escaping


@pytest.fixture
def hostile_grant(event, make_grant, grant_settings):
    event.settings.set('grants_mail_decision_approved_subject', 'Your grant, {name}')
    with event_scope(event), committed():  # the form, the control panel and the reply page, in their requests
        g = workflow.create_grant(event, name=HOSTILE_NAME, email='hostile@example.org', internal_note=HOSTILE_NOTE)
        workflow.stage_decision(g, Grant.STATUS_APPROVED)
        workflow.publish(g)
        workflow.confirm(g, actor=workflow.ORGANIZER, reason=HOSTILE_REASON)
    g.refresh_from_db()
    assert g.voucher_id
    return g


def assert_escaped(content, *texts):
    for text in texts:
        assert text not in content
        assert html.escape(text, quote=False) in content or html.escape(text) in content, text


@pytest.mark.django_db
def test_control_panel_escapes_what_grantees_and_organizers_typed(admin_client, event, hostile_grant):
    page = admin_client.get(url(event)).content.decode()
    assert_escaped(page, HOSTILE_NAME)
    page = admin_client.get(url(event, f'{hostile_grant.pk}/')).content.decode()
    # fields, and the timeline: the decision mail's subject and the reason given when confirming
    assert_escaped(page, HOSTILE_NAME, HOSTILE_NOTE, HOSTILE_REASON, f'Your grant, {HOSTILE_NAME}')
    page = admin_client.get(url(event, f'{hostile_grant.pk}/edit/')).content.decode()
    assert HOSTILE_NAME not in page and HOSTILE_NOTE not in page
    # pretix's own event log shows the same entries
    page = admin_client.get(f'/control/event/{event.organizer.slug}/{event.slug}/logs/').content.decode()
    assert HOSTILE_NAME not in page and HOSTILE_REASON not in page


@pytest.mark.django_db
def test_grantee_page_escapes_the_name(client, hostile_grant):
    page = client.get(reply_url(hostile_grant)).content.decode()
    assert_escaped(page, HOSTILE_NAME)
    assert HOSTILE_NOTE not in page and html.escape(HOSTILE_NOTE) not in page


@pytest.mark.django_db
@scopes_disabled()
def test_mails_escape_the_name_in_their_html_part(hostile_grant):
    mails = list(OutgoingMail.objects.filter(pk__in=hostile_grant.mails.values('outgoing_mail')))
    assert len(mails) == 3  # received, decision, voucher
    for m in mails:
        assert HOSTILE_NAME in m.body_plain  # plain text is not HTML: it says what was typed
        assert_escaped(m.body_html, HOSTILE_NAME)
