"""The decisions' API: a proposal as a dry run, staging it, and reading a draw."""
import hashlib

from django_scopes import scopes_disabled

from pretix_grants.models import Grant

from ..conftest import api_client_for
from .conftest import decide_url


def url(event, path):
    return f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grant_decisions/{path}'


def test_a_dry_run_changes_nothing_and_staging_stages(api, event, programme):
    grants = programme()
    r = api.post(url(event, 'proposal/'), {'strategy': 'rank', 'basis': 'calibrated'}, format='json')
    assert r.status_code == 200, r.content
    d = r.json()
    assert d['available'] == '700.00' and d['offered_total'] == '600.00'
    assert [row['grant'] for row in d['rows'] if row['funded']] == [grants[0].pk, grants[1].pk]
    assert d['rows'][2]['reason'] == 'below the line by €200.00'
    with scopes_disabled():
        assert not Grant.objects.filter(event=event, decision__isnull=False).exists()
    r = api.post(url(event, 'stage/'), {'strategy': 'rank'}, format='json')
    assert r.status_code == 200 and r.json()['staged'] == {'approved': 2, 'waiting_list': 3, 'rejected': 0}
    with scopes_disabled():
        assert Grant.objects.filter(event=event, decision='approved').count() == 2


def test_bad_options_are_a_400(api, event, programme):
    programme()
    r = api.post(url(event, 'proposal/'), {'strategy': 'lottery', 'part': '7'}, format='json')
    assert r.status_code == 400 and set(r.json()) == {'strategy', 'part'}


def test_a_tie_must_be_drawn_before_staging_and_the_draw_can_be_read(api, event, programme, decider_client):
    grants = programme(scores=((5, 5), (4, 3), (3, 4), (1, 1)), budget='600.00')
    r = api.post(url(event, 'stage/'), {}, format='json')
    assert r.status_code == 409 and sorted(r.json()['tied']) == sorted([grants[1].pk, grants[2].pk])
    decider_client.post(decide_url(event), {'operation': 'commit', 'strategy': 'rank', 'basis': 'raw'})
    draws = api.get(url(event, 'draws/')).json()['results']
    assert len(draws) == 1 and draws[0]['seed'] is None and draws[0]['order'] is None
    decider_client.post(decide_url(event), {'operation': 'draw', 'strategy': 'rank', 'basis': 'raw'})
    d = api.get(url(event, f'draws/{draws[0]["id"]}/')).json()
    assert hashlib.sha256(d['seed'].encode()).hexdigest() == d['commitment'] == draws[0]['commitment']
    assert d['check'] == {'commitment_matches': True, 'order_recomputed': True}
    assert api.get(url(event, 'draws/999999/')).status_code == 404
    assert api.post(url(event, 'stage/'), {}, format='json').status_code == 200


def test_a_team_without_the_manage_permission_gets_a_403(event, programme, organizer):
    programme()
    with scopes_disabled():
        team = organizer.teams.create(name='Viewers', all_events=True, limit_event_permissions={'pretix_grants:read': True})
    assert api_client_for(team).post(url(event, 'proposal/'), {}, format='json').status_code == 403
