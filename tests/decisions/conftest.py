"""
The decisions' fixtures. These tests run without the suite-wide scopes_disabled(): pretix's middleware sets the
scope of a request; the fixtures' and the assertions' own queries are wrapped in scopes_disabled().
"""
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from pretix_grants.models import Review
from pretix_grants.permissions import MANAGE, REVIEW, VIEW


@pytest.fixture
@scopes_disabled()
def reviewers(team_member):
    return [team_member({VIEW: True, REVIEW: True}, f'reviewer{n}@example.org') for n in range(2)]


@pytest.fixture
@scopes_disabled()
def decider(team_member):
    return team_member({VIEW: True, MANAGE: True}, 'decider@example.org')


@pytest.fixture
def decider_client(client, decider):
    client.force_login(decider)
    return client


@pytest.fixture
def programme(event, make_grant, reviewers):
    """
    Five applications asking for 300.00 of travel each, scored alike by both reviewers (5, 4, 3, 2, 1: no tie), and a
    budget of 700.00: two fit.
    """
    def make(scores=((5, 5), (4, 4), (3, 3), (2, 2), (1, 1)), budget='700.00', **settings):
        with scopes_disabled():
            event.settings.grants_budget = Decimal(budget) if budget is not None else None
            for k, v in settings.items():
                event.settings.set(k, v)
            grants = []
            for n, pair in enumerate(scores):
                g = make_grant(name=f'Applicant {n}', email=f'applicant{n}@example.org', requested_travel=Decimal('300.00'),
                               travel_amount=Decimal('0.00'), motivation=f'I am Applicant {n}, write to applicant{n}@example.org')
                for r, s in zip(reviewers, pair):
                    Review.objects.create(grant=g, user=r, score=s)
                grants.append(g)
            return grants
    return make


def decide_url(event, query=''):
    return f'/control/event/{event.organizer.slug}/{event.slug}/grants/decide/' + (f'?{query}' if query else '')
