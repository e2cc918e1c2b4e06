"""The statistics page and the report cost the same number of queries for 5 grants as for 60."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from pretix.base.models import User

from pretix_grants.models import Claim, ClaimItem, Grant, Review

from ..control.conftest import url


def add_grants(event, make_grant, n, start):
    with scopes_disabled():
        reviewer, _ = User.objects.get_or_create(email='reviewer@example.org')
        for i in range(n):
            status = [Grant.STATUS_CONFIRMED, Grant.STATUS_PENDING, Grant.STATUS_REJECTED][i % 3]
            g = make_grant(status, email=f'q{start + i}@example.org', answers={'country': ['IT', 'DE', 'FR'][i % 3]})
            Review.objects.create(grant=g, user=reviewer, score=3)
            if status == Grant.STATUS_CONFIRMED:
                c = Claim.objects.create(grant=g, state=Claim.STATE_PAID, approved_amount=Decimal('100.00'))
                ClaimItem.objects.create(claim=c, category='travel', amount=Decimal('100.00'))


def queries(client, path):
    """(all queries of the request, those that read the plugin's tables)"""
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path)
    assert r.status_code == 200
    return len(ctx.captured_queries), sum('pretix_grants_' in q['sql'] for q in ctx.captured_queries)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_number_of_grants(event, make_grant, manager_client):
    event.settings.grants_application_questions = [
        {'id': 'country', 'type': 'text', 'question': 'Country', 'required': False}]
    paths = [url(event, 'statistics/'), url(event, 'statistics/?status=confirmed'),
             url(event, 'statistics/report/?locale=en&format=csv'), url(event, 'statistics/report/?locale=en&format=pdf')]
    add_grants(event, make_grant, 5, 0)
    for p in paths:
        queries(manager_client, p)  # warm pretix's caches (settings, permissions)
    small = [queries(manager_client, p) for p in paths]
    add_grants(event, make_grant, 55, 100)
    large = [queries(manager_client, p) for p in paths]
    assert small == large
    # the figures' own share: the aggregate, the claimed amounts, days and answers (rounds and attendance read
    # pretix's tables), plus the permission and plugin checks of the page
    assert [n for total, n in large] == [4, 4, 4, 4], large
