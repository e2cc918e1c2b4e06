"""
Passports, birth dates, addresses, letters, bank accounts, payout details and receipts only for the teams with the
personal data permission; the grantee's secret link only for managers, and a team member on the grantee's page
sees it read only, their visit logged with their name.
"""
import importlib

import pytest
from django.apps import apps
from django.test import Client
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, User

from pretix_grants import mails
from pretix_grants.letters import rules as letters
from pretix_grants.letters.control import LetterExporter
from pretix_grants.models import Grant, Receipt
from pretix_grants.permissions import (
    MANAGE, PERSONAL, REVIEW, VIEW, permission_group,
)

from ..claims.conftest import IBAN, claim_url, reply_url
from ..conftest import api_client_for
from ..letters.conftest import letter_data

BASE = '/control/event/pyconf/2027/grants/'
API = '/api/v1/organizers/pyconf/events/2027/'
LEVELS = {
    'view': {VIEW: True},
    'review': {VIEW: True, REVIEW: True},
    'manage': {VIEW: True, MANAGE: True},
}

# the control panel shows an IBAN in groups of four
IBAN_SHOWN = ' '.join(IBAN[i:i + 4] for i in range(0, len(IBAN), 4))


def team(event, perms):
    with scopes_disabled():
        return event.organizer.teams.create(name='T', all_events=True, limit_event_permissions=perms)


def member(event, perms, email):
    t = team(event, perms)
    with scopes_disabled():
        user = User.objects.create_user(email, 'x')
        t.members.add(user)
    c = Client()
    c.force_login(user)
    return c, user


@pytest.fixture
def claim_with_receipt(payout_claims):
    with scopes_disabled():
        return payout_claims[0], Receipt.objects.filter(item__claim=payout_claims[0]).first()


@pytest.fixture
def letter(letter_event, payout_claims):
    grant = payout_claims[0].grant
    with scope(organizer=letter_event.organizer):  # as the requester's page runs it
        return letters.request_letter(letter_event, letter_data(passport_number='PZ7654321'), grant=grant)


@pytest.mark.django_db
@pytest.mark.parametrize('level', ['view', 'review', 'manage'])
def test_teams_without_the_permission_never_see_personal_data_in_the_control_panel(
        level, event, claim_with_receipt, letter):
    claim, receipt = claim_with_receipt
    c, user = member(event, LEVELS[level], f'{level}@example.org')
    page = c.get(BASE + f'claims/{claim.pk}/').content.decode()
    assert IBAN not in page and IBAN_SHOWN not in page and 'Ada Lovelace' in page
    assert f'/receipt/{receipt.pk}/' not in page and 'ticket.pdf' not in page
    assert c.get(BASE + f'claims/{claim.pk}/receipt/{receipt.pk}/').status_code == 403
    page = c.get(BASE + f'letters/{letter.pk}/').content.decode()
    assert 'PZ7654321' not in page and '1990' not in page and 'Warszawa' not in page
    assert c.get(BASE + f'letters/{letter.pk}/pdf/').status_code == 403
    assert c.get(BASE + 'claims/export/').status_code == 403
    with scopes_disabled():
        assert not user.has_event_permission(event.organizer, event, LetterExporter.get_required_event_permission())


@pytest.mark.django_db
def test_the_personal_data_level_sees_them(event, claim_with_receipt, letter):
    claim, receipt = claim_with_receipt
    c, user = member(event, {VIEW: True, MANAGE: True, PERSONAL: True}, 'treasurer@example.org')
    assert IBAN_SHOWN in c.get(BASE + f'claims/{claim.pk}/').content.decode()
    assert c.get(BASE + f'claims/{claim.pk}/receipt/{receipt.pk}/').status_code == 200
    assert 'PZ7654321' in c.get(BASE + f'letters/{letter.pk}/').content.decode()
    assert c.get(BASE + f'letters/{letter.pk}/pdf/').status_code == 200
    assert c.get(BASE + 'claims/export/').status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize('level', ['view', 'review', 'manage'])
def test_rest_fields_of_personal_data_are_omitted_without_the_permission(level, event, claim_with_receipt, letter):
    claim, receipt = claim_with_receipt
    api = api_client_for(team(event, LEVELS[level]))
    [c] = [c for c in api.get(API + 'grant_claims/').json()['results'] if c['id'] == claim.pk]
    assert 'payout' not in c and all('receipts' not in i for i in c['items'])
    assert IBAN not in api.get(API + f'grant_claims/{claim.pk}/').content.decode()
    assert api.get(API + f'grant_claims/{claim.pk}/receipts/{receipt.pk}/').status_code == 403
    [lr] = api.get(API + 'letter_requests/').json()['results']
    assert not {'passport_number', 'date_of_birth', 'address', 'passport_expiry', 'nationality'} & set(lr)
    assert api.get(API + f'letter_requests/{letter.pk}/pdf/').status_code == 403

    full = api_client_for(team(event, {VIEW: True, MANAGE: True, PERSONAL: True}))
    [c] = [c for c in full.get(API + 'grant_claims/').json()['results'] if c['id'] == claim.pk]
    assert c['payout']['iban'] == IBAN and c['items'][0]['receipts']
    assert full.get(API + 'letter_requests/').json()['results'][0]['passport_number'] == 'PZ7654321'


@pytest.mark.django_db
@pytest.mark.parametrize('level', ['view', 'review'])
def test_the_secret_link_only_for_those_who_manage(level, event, make_grant):
    grant = make_grant(Grant.STATUS_APPROVED, name='Ada', email='ada@example.org')
    api = api_client_for(team(event, LEVELS[level]))
    [g] = api.get(API + 'grants/').json()['results']
    assert 'reply_url' not in g and grant.secret not in api.get(API + f'grants/{grant.pk}/').content.decode()
    c, user = member(event, LEVELS[level], f'{level}@example.org')
    page = c.get(BASE + f'{grant.pk}/').content.decode()
    assert grant.secret not in page
    assert 'We are offering you a grant' in page, 'the preview: what the grantee\'s page says'

    manage = api_client_for(team(event, LEVELS['manage']))
    [g] = manage.get(API + 'grants/').json()['results']
    with scopes_disabled():
        assert g['reply_url'] == mails.reply_url(grant)


@pytest.mark.django_db
def test_a_team_member_with_the_link_cannot_act_as_the_grantee(event, make_grant, grant_settings, manager_client,
                                                               manager):
    grant = make_grant(Grant.STATUS_APPROVED, name='Ada', email='ada@example.org')
    page = manager_client.get(reply_url(grant))
    assert page.status_code == 200
    r = manager_client.post(reply_url(grant), {'answer': 'confirm'})
    assert r.status_code == 302
    assert 'act for the grantee from the control panel' in manager_client.get(r['Location']).content.decode()
    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.status == Grant.STATUS_APPROVED
        viewed = LogEntry.objects.filter(action_type='pretix_grants.grant.reply_page.viewed', object_id=grant.pk)
        assert viewed.count() == 2 and {le.user for le in viewed} == {manager}
        assert not LogEntry.objects.filter(action_type='pretix_grants.grant.reply_page.opened').exists()
    # the grantee's own answer still works
    Client().post(reply_url(grant), {'answer': 'confirm'})
    with scopes_disabled():
        grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED


@pytest.mark.django_db
def test_a_team_member_without_personal_data_cannot_open_the_grantees_claim(event, claim_with_receipt):
    claim, receipt = claim_with_receipt
    c, user = member(event, LEVELS['manage'], 'manage@example.org')
    with scopes_disabled():
        grant = claim.grant
    assert c.get(claim_url(grant)).status_code == 403
    assert c.post(claim_url(grant), {'claim_step': 'save', 'iban': 'DE02120300000000202051'}).status_code == 403
    with scopes_disabled():
        claim.refresh_from_db()
    assert claim.iban == IBAN


@pytest.mark.django_db
def test_the_levels_and_what_existing_managers_keep(event):
    assert [o.actions for o in permission_group().options][-2:] == [
        ('read', 'write', 'personal'), ('read', 'review', 'write', 'personal')]
    t = team(event, {VIEW: True, MANAGE: True})
    viewer = team(event, {VIEW: True})
    migration = importlib.import_module('pretix_grants.migrations.0012_trust')
    with scopes_disabled():
        migration.managers_keep_personal_data(apps, None)
        t.refresh_from_db()
        viewer.refresh_from_db()
    assert t.limit_event_permissions[PERSONAL] is True
    assert PERSONAL not in viewer.limit_event_permissions
