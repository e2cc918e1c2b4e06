import statistics
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from pretix_grants import reviews
from pretix_grants.models import Grant, Review
from pretix_grants.permissions import MANAGE, REVIEW, VIEW

from .conftest import event_scope
from .control.conftest import url


@pytest.fixture
def reviewers(team_member):
    return [team_member({VIEW: True, REVIEW: True}, f'reviewer{n}@example.org') for n in range(3)]


@pytest.fixture
def applications(make_grant):
    return [make_grant(Grant.STATUS_PENDING, name=f'Applicant {n}', email=f'applicant{n}@example.org',
                       travel_amount=Decimal('0.00'), requested_travel=Decimal(amount))
            for n, amount in enumerate(('400.00', '300.00', '200.00', '100.00'))]


def score(grant, user, value, note=''):
    with event_scope(grant.event):  # as the review page saves it
        return reviews.score(grant, user, value, note)


def row(response, grant):
    return next(g for g in response.context['grants'] if g.pk == grant.pk)


@pytest.mark.django_db
def test_reviewer_sees_others_scores_only_after_scoring(client, event, reviewers, applications):
    a, b, c = reviewers
    g = applications[0]
    score(g, a, 5, 'Strong community work')
    score(g, b, 1, 'Asked for too much')

    client.force_login(c)
    page = client.get(url(event, f'{g.pk}/review/'))
    body = page.content.decode()
    assert page.status_code == 200
    assert '2 reviews so far' in body
    assert 'Strong community work' not in body and 'Asked for too much' not in body
    assert page.context['reviews'] == []
    listed = row(client.get(url(event)), g)
    assert listed.review_count == 2 and listed.review_mean is None and listed.review_stddev is None
    assert listed.own_score is None
    # sorting or filtering by the hidden figures reveals nothing either
    assert g.pk not in [x.pk for x in client.get(url(event) + '?review=disputed').context['grants']]

    r = client.post(url(event, f'{g.pk}/review/'), {'score': '3', 'note': 'Middle ground'})
    assert r.status_code == 302
    body = client.get(url(event, f'{g.pk}/review/')).content.decode()
    assert 'Strong community work' in body and 'Asked for too much' in body and 'Middle ground' in body
    listed = row(client.get(url(event)), g)
    assert listed.own_score == 3
    assert listed.review_mean == pytest.approx(3.0)
    assert listed.review_stddev == pytest.approx(statistics.pstdev([5, 1, 3]))
    # the log says that someone reviewed, not the score
    entry = g.all_logentries().get(action_type='pretix_grants.grant.reviewed', user=c)
    assert 'score' not in entry.parsed_data and 'note' not in entry.parsed_data


@pytest.mark.django_db
def test_deciders_who_do_not_review_see_all_figures(manager_client, event, reviewers, applications):
    g = applications[0]
    for reviewer, s in zip(reviewers, (2, 4, 5)):
        score(g, reviewer, s)
    listed = row(manager_client.get(url(event)), g)
    assert listed.review_mean == pytest.approx(statistics.mean([2, 4, 5]))
    assert listed.review_stddev == pytest.approx(statistics.pstdev([2, 4, 5]))
    assert manager_client.get(url(event, f'{g.pk}/review/')).status_code == 403, 'scoring needs the permission'


@pytest.mark.django_db
def test_scores_are_validated_and_one_per_reviewer(client, event, reviewers, applications):
    a = reviewers[0]
    g = applications[0]
    client.force_login(a)
    for bad in ('0', '6', 'x', ''):
        r = client.post(url(event, f'{g.pk}/review/'), {'score': bad})
        assert r.status_code == 200 and 'score' in r.context['form'].errors
    with scopes_disabled():
        assert not Review.objects.exists()
    client.post(url(event, f'{g.pk}/review/'), {'score': '2'})
    client.post(url(event, f'{g.pk}/review/'), {'score': '4', 'note': 'Changed my mind'})
    with scopes_disabled():
        review = Review.objects.get()
    assert (review.score, review.note, review.user) == (4, 'Changed my mind', a)


@pytest.mark.django_db
def test_filters(client, event, reviewers, applications):
    a, b, c = reviewers
    g0, g1, g2, g3 = applications
    score(g0, a, 1)
    score(g0, b, 5)   # disputed
    score(g1, a, 3)
    score(g1, b, 3)
    score(g1, c, 4)
    score(g2, b, 4)
    client.force_login(a)

    def names(query):
        return sorted(g.name for g in client.get(url(event) + '?' + query).context['grants'])

    assert names('review=mine_missing') == ['Applicant 2', 'Applicant 3']
    assert names('review=mine_done') == ['Applicant 0', 'Applicant 1']
    assert names('fewer_reviews=2') == ['Applicant 2', 'Applicant 3']
    assert names('fewer_reviews=3') == ['Applicant 0', 'Applicant 2', 'Applicant 3']
    assert names('review=disputed') == ['Applicant 0']
    assert names('review=mine_missing&fewer_reviews=1') == ['Applicant 3']

    # sorted by mean, best first; grants without visible figures last
    ordered = [g.name for g in client.get(url(event) + '?ordering=-review_mean').context['grants']]
    assert ordered[:2] == ['Applicant 1', 'Applicant 0']


@pytest.mark.django_db
def test_next_unreviewed_walks_through_the_queue(client, event, reviewers, applications):
    a, b, _c = reviewers
    g0, g1, g2, g3 = applications
    score(g0, b, 3)  # g0 already has a review: others first
    client.force_login(a)
    seen = []
    for _ in range(4):
        r = client.get(url(event, 'review/next/'))
        assert r.status_code == 302
        pk = int(r['Location'].rstrip('/').split('/')[-2])
        seen.append(pk)
        assert client.post(url(event, f'{pk}/review/'), {'score': '3', 'next': '1'}).status_code == 302
    assert seen == [g1.pk, g2.pk, g3.pk, g0.pk]
    r = client.get(url(event, 'review/next/'), follow=True)
    assert 'You have scored every pending application' in r.content.decode()


@pytest.mark.django_db
def test_api_is_blind_too_and_scores_are_read_only(event, team_member, reviewers, applications):
    a, b, _c = reviewers
    g = applications[0]
    score(g, b, 5, 'Great')
    org = event.organizer
    path = f'/api/v1/organizers/{org.slug}/events/{event.slug}/grants/{g.pk}/'

    reviewer_api = APIClient()
    reviewer_api.force_authenticate(a)
    data = reviewer_api.get(path).json()
    assert data['requested'] == {'ticket': True, 'travel': '400.00', 'accommodation': '0.00', 'other': '0.00'}
    assert data['reviews'] == {'count': 1, 'mean': None, 'stddev': None, 'own_score': None, 'reviews': []}
    score(g, a, 3)
    data = reviewer_api.get(path).json()
    assert data['reviews']['mean'] == pytest.approx(4.0) and data['reviews']['stddev'] == pytest.approx(1.0)
    assert data['reviews']['own_score'] == 3
    assert {r['score'] for r in data['reviews']['reviews']} == {5, 3}

    team = org.teams.create(name='API', all_events=True, limit_event_permissions={VIEW: True, MANAGE: True})
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION='Token ' + team.tokens.create(name='t').token)
    data = token.get(path).json()
    assert data['reviews']['mean'] == pytest.approx(4.0), 'a token of a team that does not review sees the figures'
    for field in ('reviews', 'requested'):
        r = token.patch(path, {field: {'mean': 5, 'travel': '1.00'}}, format='json')
        assert r.status_code == 400 and field in r.json()
    g.refresh_from_db()
    assert g.requested_travel == Decimal('400.00')
    with scopes_disabled():
        assert Review.objects.filter(grant=g).count() == 2


@pytest.mark.django_db
def test_ranking_running_totals_and_where_the_money_runs_out(manager_client, event, reviewers, applications, make_grant):
    g0, g1, g2, g3 = applications  # requesting 400, 300, 200, 100
    for reviewer, ranks in zip(reviewers, ((2, 5, 4, 3), (2, 5, 4, 3), (2, 5, 4, 3))):
        for g, s in zip(applications, ranks):
            score(g, reviewer, s)
    # 200 of a budget of 800 is already granted: 600 left for the ranking g1 (300), g2 (200), g3 (100), g0 (400)
    make_grant(Grant.STATUS_CONFIRMED, travel_amount=Decimal('200.00'))
    event.settings.grants_budget = Decimal('800.00')

    r = manager_client.get(url(event) + '?status=pending&ordering=-review_mean')
    rows = [(g.pk, g.running_total, g.fits, g.runs_out_here) for g in r.context['grants']]
    assert rows == [
        (g1.pk, Decimal('300.00'), True, False),
        (g2.pk, Decimal('500.00'), True, False),
        (g3.pk, Decimal('600.00'), True, False),
        (g0.pk, Decimal('1000.00'), False, True),
    ]
    body = r.content.decode()
    assert body.count('The money runs out here') == 1
    assert body.index('The money runs out here') < body.index('Applicant 0') and \
        body.index('Applicant 3') < body.index('The money runs out here')

    # the running total counts the whole ranking, not only the page
    r = manager_client.get(url(event) + '?status=pending&ordering=-review_mean&page_size=1&page=3')
    [only] = r.context['grants']
    assert (only.pk, only.running_total) == (g3.pk, Decimal('600.00'))

    # without a budget: totals, no mark
    del event.settings.grants_budget
    r = manager_client.get(url(event) + '?status=pending&ordering=-review_mean')
    assert all(g.fits for g in r.context['grants'])
    assert 'The money runs out here' not in r.content.decode()


@pytest.mark.django_db
def test_bulk_approve_as_requested_and_waiting_list_for_the_rest(admin_client, event, applications):
    g0, g1, g2, g3 = applications
    import uuid
    r = admin_client.post(url(event, 'bulk/'), {
        'operation': 'approve_requested', 'scope': 'selected', 'grant': [g0.pk, g1.pk], 'run': str(uuid.uuid4()),
        'filter': 'status=pending'})
    assert r.status_code == 302
    r = admin_client.post(url(event, 'bulk/'), {
        'operation': 'waitlist_rest', 'scope': 'selected', 'grant': [g0.pk, g1.pk], 'run': str(uuid.uuid4()),
        'filter': 'status=pending'})
    assert r.status_code == 302
    for g in applications:
        g.refresh_from_db()
    assert (g0.decision, g0.travel_amount, g0.status) == ('approved', Decimal('400.00'), Grant.STATUS_PENDING)
    assert (g1.decision, g1.travel_amount) == ('approved', Decimal('300.00'))
    assert (g2.decision, g2.travel_amount) == ('waiting_list', Decimal('0.00'))
    assert g3.decision == 'waiting_list'


@pytest.mark.django_db
def test_list_with_review_figures_costs_a_constant_number_of_queries(client, event, reviewers, make_grant):
    a = reviewers[0]
    client.force_login(a)

    def add(n):
        for _ in range(n):
            g = make_grant(Grant.STATUS_PENDING, requested_travel=Decimal('100.00'))
            for reviewer in reviewers:
                score(g, reviewer, 3)

    def count(path):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    path = url(event) + '?page_size=250&ordering=-review_mean'
    add(3)
    client.get(path)
    few = count(path)
    add(40)
    assert count(path) == few


@pytest.mark.django_db
def test_detail_page_shows_the_application(admin_client, event, make_grant):
    event.settings.grants_application_questions = [
        {'id': 'role', 'type': 'choice', 'question': 'Your role', 'choices': ['Student', 'Speaker'], 'required': True}]
    g = make_grant(requested_travel=Decimal('120.00'), justification='Bus ticket', motivation='To learn',
                   answers={'role': '1'})
    body = admin_client.get(url(event, f'{g.pk}/')).content.decode()
    for text in ('Bus ticket', 'To learn', 'Your role', 'Speaker', '€120.00', f'{g.pk}/review/'):
        assert text in body


@pytest.mark.django_db
def test_list_offers_the_review_filters_and_the_next_button(client, event, reviewers):
    client.force_login(reviewers[0])
    body = client.get(url(event)).content.decode()
    assert 'name="review"' in body and 'name="fewer_reviews"' in body
    assert 'Not yet reviewed by me' in body and 'High disagreement' in body
    assert 'id="next-unreviewed"' in body


@pytest.mark.django_db
def test_review_and_detail_pages_show_what_the_applicant_asks_for(client, manager_client, event, reviewers,
                                                                  applications):
    g = applications[0]  # a free ticket and €400.00 for travel
    client.force_login(reviewers[0])
    for c, path in ((client, f'{g.pk}/review/'), (manager_client, f'{g.pk}/')):
        body = c.get(url(event, path)).content.decode()
        assert 'A free ticket' in body
        assert 'Travel: €400.00' in body
        assert 'Total: €400.00' in body
        assert 'Accommodation: ' not in body


@pytest.mark.django_db
def test_approve_as_requested_never_lowers_a_granted_amount_silently(admin_client, event, make_grant):
    g = make_grant(Grant.STATUS_PENDING, travel_amount=Decimal('470.50'), requested_travel=Decimal('0.00'))
    import uuid
    r = admin_client.post(url(event, 'bulk/'), {
        'operation': 'approve_requested', 'scope': 'selected', 'grant': [g.pk], 'run': str(uuid.uuid4())}, follow=True)
    row, = r.context['rows']
    assert row['result'] == 'skipped'
    assert 'travel: 470.50 → 0.00' in row['message']
    g.refresh_from_db()
    assert (g.travel_amount, g.decision) == (Decimal('470.50'), None)
