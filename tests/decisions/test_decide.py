"""The Decide page: a proposal with its reasons, the draw at the line, staging and publishing (through the client)."""
import hashlib
import hmac
from decimal import Decimal

from django_scopes import scopes_disabled
from pretix.base.models import LogEntry

from pretix_grants.models import Draw, Grant

from ..conftest import committed
from .conftest import decide_url


def _grants(ids):
    with scopes_disabled():
        return {g.pk: g for g in Grant.objects.filter(pk__in=ids)}


def test_the_proposal_gives_reasons_stages_and_publishes(decider_client, event, programme, api):
    grants = programme()
    r = decider_client.get(decide_url(event))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="decide-chart"' in html and 'decide-chart-data' in html
    assert 'below the line by €200.00' in html
    assert html.count('class="proposal-reason">within the budget') == 2
    r = decider_client.post(decide_url(event), {'operation': 'stage', 'strategy': 'rank', 'basis': 'raw', 'part': '1'})
    assert r.status_code == 302
    g = _grants([x.pk for x in grants])
    assert [g[x.pk].decision for x in grants] == ['approved', 'approved', 'waiting_list', 'waiting_list', 'waiting_list']
    assert [g[x.pk].rank for x in grants] == [None, None, 1, 2, 3]
    assert g[grants[0].pk].travel_amount == Decimal('300.00')
    for x in grants:
        assert api.post(f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/{x.pk}/publish/').status_code == 200
    g = _grants([x.pk for x in grants])
    assert [g[x.pk].status for x in grants] == ['approved', 'approved', 'waiting_list', 'waiting_list', 'waiting_list']
    with scopes_disabled():
        assert Grant.objects.filter(event=event).holding_place().granted_total() <= event.settings.grants_budget


def test_a_cap_and_a_part_are_explained(decider_client, event, programme):
    programme(budget='2000.00', grants_cap_travel=Decimal('250.00'))
    html = decider_client.get(decide_url(event, 'strategy=rank&basis=raw&part=0.9')).content.decode()
    assert 'over the travel cap: offered €250.00 of €300.00' in html


def test_a_tie_at_the_line_is_drawn_verifiably_and_only_once_without_a_reason(decider_client, client, event, programme):
    # applicants 1 and 2 both average 3.5: they cannot be told apart, and only one of them fits
    grants = programme(scores=((5, 5), (4, 3), (3, 4), (1, 1)), budget='600.00')
    tied = sorted([grants[1].pk, grants[2].pk])
    html = decider_client.get(decide_url(event)).content.decode()
    assert 'id="commit-draw"' in html
    r = decider_client.post(decide_url(event), {'operation': 'stage', 'strategy': 'rank', 'basis': 'raw'}, follow=True)
    assert 'draw lots before staging' in r.content.decode()
    assert not any(g.decision for g in _grants(tied).values())

    decider_client.post(decide_url(event), {'operation': 'commit', 'strategy': 'rank', 'basis': 'raw'})
    with scopes_disabled():
        draw = Draw.objects.get(event=event)
        assert draw.tied == tied and not draw.drawn
        assert draw.commitment == hashlib.sha256(draw.seed.encode()).hexdigest()
        logged = LogEntry.objects.filter(action_type='pretix_grants.grant.draw_committed', object_id__in=tied)
        assert sorted(e.object_id for e in logged) == tied
        assert all(e.parsed_data['commitment'] == draw.commitment for e in logged)
    public = f'/{event.organizer.slug}/{event.slug}/grants/draws/{draw.pk}/'
    page = client.get(public).content.decode()
    assert draw.commitment in page and draw.seed not in page and 'id="draw-seed-pending"' in page

    decider_client.post(decide_url(event), {'operation': 'draw', 'strategy': 'rank', 'basis': 'raw'})
    page = client.get(public).content.decode()
    with scopes_disabled():
        draw.refresh_from_db()
    assert draw.seed in page
    # what the documentation tells an auditor to type
    order = sorted(tied, key=lambda i: hmac.new(draw.seed.encode(), str(i).encode(), hashlib.sha256).hexdigest())
    assert draw.order == order
    html = decider_client.get(decide_url(event)).content.decode()
    assert 'drawn 1 of 2' in html and 'drawn 2 of 2' in html

    r = decider_client.post(decide_url(event), {'operation': 'commit', 'strategy': 'rank', 'basis': 'raw'}, follow=True)
    assert 'needs a reason' in r.content.decode()
    with scopes_disabled():
        assert Draw.objects.filter(event=event).count() == 1
    decider_client.post(decide_url(event), {'operation': 'commit', 'strategy': 'rank', 'basis': 'raw',
                                            'reason': 'A review was entered for the wrong application.'})
    with scopes_disabled():
        assert Draw.objects.filter(event=event).count() == 2
        draw.refresh_from_db()
        assert draw.superseded
        assert LogEntry.objects.filter(action_type='pretix_grants.draw.superseded', object_id=draw.pk).exists()
    assert 'id="draw-superseded"' in client.get(public).content.decode()

    # drawn: the staged proposal follows the order drawn
    decider_client.post(decide_url(event), {'operation': 'draw', 'strategy': 'rank', 'basis': 'raw'})
    decider_client.post(decide_url(event), {'operation': 'stage', 'strategy': 'rank', 'basis': 'raw'})
    with scopes_disabled():
        latest = Draw.objects.filter(event=event, superseded=False).get()
    g = _grants(tied)
    assert g[latest.order[0]].decision == 'approved' and g[latest.order[1]].decision == 'waiting_list'


def test_a_reviewer_cannot_open_the_decide_page(client, event, programme, reviewers):
    programme()
    client.force_login(reviewers[0])
    assert client.get(decide_url(event)).status_code == 403


def test_a_declined_offer_goes_to_the_next_in_the_second_round(decider_client, event, programme, api):
    grants = programme(grants_second_round='auto', grants_promote_waiting_list=True)
    # the third applicant asks for less: it fits what the first one frees, and so does not the fourth as well
    decider_client.post(decide_url(event), {'operation': 'stage', 'strategy': 'rank', 'basis': 'raw'})
    base = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants'
    for x in grants:
        api.post(f'{base}/{x.pk}/publish/')
    with committed():
        assert api.post(f'{base}/{grants[0].pk}/refuse/', {'reason': 'cannot travel'}, format='json').status_code == 200
    g = _grants([x.pk for x in grants])
    assert [g[x.pk].status for x in grants] == ['refused', 'approved', 'approved', 'waiting_list', 'waiting_list']
    with scopes_disabled():
        moved = LogEntry.objects.get(action_type='pretix_grants.grant.second_round', object_id=grants[0].pk)
        assert moved.parsed_data['grant'] == grants[2].pk
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.approved', object_id=grants[2].pk,
                                       data__contains='second_round').exists()
        assert Grant.objects.filter(event=event).holding_place().granted_total() <= Decimal('700.00')


def test_the_second_round_only_proposes_when_asked_to(decider_client, event, programme, api):
    grants = programme(grants_second_round='propose')
    decider_client.post(decide_url(event), {'operation': 'stage', 'strategy': 'rank', 'basis': 'raw'})
    base = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants'
    for x in grants:
        api.post(f'{base}/{x.pk}/publish/')
    with committed():
        api.post(f'{base}/{grants[1].pk}/cancel/', {'reason': 'duplicate'}, format='json')
    g = _grants([x.pk for x in grants])
    assert g[grants[2].pk].status == 'waiting_list' and g[grants[2].pk].decision == 'approved'
    assert g[grants[3].pk].decision is None


def test_with_equal_scores_as_the_tie_rule_only_what_the_ranking_cannot_order_is_drawn(decider_client, event, programme):
    # 4.0 and 3.5 at the line: the reviewers disagree, so their ranges overlap, but the ranking can order them
    programme(scores=((5, 5), (5, 3), (4, 3), (1, 1)), budget='600.00')
    html = decider_client.get(decide_url(event)).content.decode()
    assert 'id="commit-draw"' in html and 'ranges of mean ± standard error overlap' in html
    with scopes_disabled():
        event.settings.grants_tie_rule = 'equal'
    html = decider_client.get(decide_url(event)).content.decode()
    assert 'id="commit-draw"' not in html and 'Tie at the line' not in html
    decider_client.post(decide_url(event), {'operation': 'stage', 'strategy': 'rank', 'basis': 'raw'})
    with scopes_disabled():
        assert [g.decision for g in Grant.objects.filter(event=event).order_by('pk')] == [
            'approved', 'approved', 'waiting_list', 'waiting_list']


def test_a_draw_records_the_tie_rule_it_was_made_under(decider_client, client, event, programme, api):
    grants = programme(scores=((5, 5), (4, 3), (3, 4), (1, 1)), budget='600.00', grants_tie_rule='equal')
    html = decider_client.get(decide_url(event)).content.decode()
    assert 'their scores, to two decimals, equal the last funded one' in html
    decider_client.post(decide_url(event), {'operation': 'commit', 'strategy': 'rank', 'basis': 'raw'})
    decider_client.post(decide_url(event), {'operation': 'draw', 'strategy': 'rank', 'basis': 'raw'})
    with scopes_disabled():
        draw = Draw.objects.get(event=event)
        assert draw.rule == 'equal' and draw.tied == sorted([grants[1].pk, grants[2].pk])
        assert LogEntry.objects.get(action_type='pretix_grants.draw.committed').parsed_data['rule'] == 'equal'
    page = client.get(f'/{event.organizer.slug}/{event.slug}/grants/draws/{draw.pk}/').content.decode()
    assert 'their scores, to two decimals, are equal' in page and 'standard error' not in page
    r = api.get(f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grant_decisions/draws/{draw.pk}/')
    assert r.status_code == 200 and r.data['rule'] == 'equal'


def test_changing_the_tie_rule_gives_the_same_tied_applicants_no_fresh_lot(decider_client, event, programme):
    programme(scores=((5, 5), (4, 3), (3, 4), (1, 1)), budget='600.00')  # 3.5 and 3.5: tied under either rule
    decider_client.post(decide_url(event), {'operation': 'commit', 'strategy': 'rank', 'basis': 'raw'})
    decider_client.post(decide_url(event), {'operation': 'draw', 'strategy': 'rank', 'basis': 'raw'})
    with scopes_disabled():
        event.settings.grants_tie_rule = 'equal'
    r = decider_client.post(decide_url(event), {'operation': 'commit', 'strategy': 'rank', 'basis': 'raw'},
                            follow=True)
    assert 'needs a reason' in r.content.decode()
    assert 'drawn 1 of 2' in decider_client.get(decide_url(event)).content.decode()  # the lot already drawn holds
    with scopes_disabled():
        assert [d.rule for d in Draw.objects.filter(event=event)] == ['overlap']
