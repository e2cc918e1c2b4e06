"""Conflicts of interest: a conflicted reviewer, and an applicant on the team, cannot open, score or see scores."""
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from pretix_grants.models import Conflict, Review
from pretix_grants.permissions import MANAGE, REVIEW, VIEW


def grants_url(event, path=''):
    return f'/control/event/{event.organizer.slug}/{event.slug}/grants/{path}'


def api_url(event, path=''):
    return f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/{path}'


def _closed_to(client, event, grant, other):
    for path in (f'{grant.pk}/', f'{grant.pk}/review/', f'{grant.pk}/edit/'):
        assert client.get(grants_url(event, path)).status_code in (403, 404), path
    assert client.post(grants_url(event, f'{grant.pk}/review/'), {'score': 5}).status_code == 404
    listing = client.get(grants_url(event, '?ordering=-review_mean')).content.decode()
    assert f'/grants/{grant.pk}/' not in listing and f'/grants/{other.pk}/' in listing
    api = APIClient()
    api.force_login(client.session_user)
    assert api.get(api_url(event, f'grants/{grant.pk}/')).status_code == 404
    ids = [g['id'] for g in api.get(api_url(event, 'grants/')).json()['results']]
    assert grant.pk not in ids and other.pk in ids


def test_a_conflicted_reviewer_cannot_open_score_or_see_the_application(client, event, programme, reviewers):
    grants = programme()
    conflicted, other = reviewers
    client.force_login(conflicted)
    r = client.post(grants_url(event, 'conflicts/'), {'grant': grants[0].pk})
    assert r.status_code == 302
    with scopes_disabled():
        assert Conflict.objects.filter(grant=grants[0], user=conflicted, declared_by=conflicted).exists()
    client.session_user = conflicted
    _closed_to(client, event, grants[0], grants[1])
    # the next application to review skips it
    with scopes_disabled():
        Review.objects.filter(user=conflicted).delete()
    r = client.get(grants_url(event, 'review/next/'))
    assert r['Location'].endswith(f'/grants/{grants[1].pk}/review/')
    # the other reviewer still reviews it
    client.force_login(other)
    assert client.get(grants_url(event, f'{grants[0].pk}/review/')).status_code == 200


def test_a_manager_declares_a_conflict_for_a_reviewer_and_no_one_else_may(client, event, programme, reviewers, decider):
    grants = programme()
    client.force_login(reviewers[1])
    r = client.post(grants_url(event, 'conflicts/'), {'grant': grants[0].pk, 'email': reviewers[0].email})
    assert r.status_code == 200 and 'Only a manager' in r.content.decode()
    with scopes_disabled():
        decider_team = decider.teams.first()
        decider_team.limit_event_permissions = {VIEW: True, MANAGE: True, REVIEW: True}
        decider_team.save()
    client.force_login(decider)
    assert client.post(grants_url(event, 'conflicts/'), {'grant': grants[0].pk, 'email': reviewers[0].email}).status_code == 302
    client.force_login(reviewers[0])
    client.session_user = reviewers[0]
    _closed_to(client, event, grants[0], grants[1])


def test_an_applicant_on_the_team_never_sees_their_own_application(client, event, programme, team_member):
    grants = programme()
    applicant = team_member({VIEW: True, REVIEW: True, MANAGE: True}, grants[0].email.upper())
    client.force_login(applicant)
    client.session_user = applicant
    _closed_to(client, event, grants[0], grants[1])
    html = client.get(grants_url(event, 'decide/')).content.decode()
    assert grants[0].name not in html and 'conflict of interest' in html


def test_blind_review_masks_the_applicants_name_and_email_in_their_answers(client, event, programme, reviewers):
    grants = programme()
    client.force_login(reviewers[0])
    html = client.get(grants_url(event, f'{grants[3].pk}/review/')).content.decode()
    motivation = html.split('id="motivation">')[1].split('</dd>')[0]
    assert 'Applicant' not in motivation and 'applicant3@example.org' not in motivation
    assert 'I am […], write to […]' in motivation
