"""
Travel support for speakers, against the real pretalx: grants of type "speaker", offered by the speakers page's
button or by the sync for the speakers who answered "yes" to the pretalx event's travel-support question; ordinary
grants from then on (the usual reply page, the same budget), and still exactly one free ticket per person.
"""
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.test import Client
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry

from pretix_grants import workflow
from pretix_grants.decisions import programme
from pretix_grants.models import Grant

from ..conftest import committed
from .helpers import press, speaker, url
from .test_grants import free_tickets

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(connected):
    s = connected.settings
    s.grants_speakers_support_travel = Decimal('400.00')
    s.grants_speakers_support_accommodation = Decimal('150.00')
    s.grants_budget_travel = Decimal('1000.00')
    return connected


@scopes_disabled()
def grant_of(event, email):
    return Grant.objects.filter(event=event, email__iexact=email).first()


def offer(client, event, *speakers):
    r = client.post(url(event, 'action/'), {'do': 'support', 'speaker': [str(sp.pk) for sp in speakers]},
                    follow=True)
    assert r.status_code == 200
    return r.content.decode()


def test_the_button_offers_travel_support_as_a_grant_of_type_speaker(
        manager_client, support, pretalx, make_grant, item, manager, api):
    event = support
    press(manager_client, event, 'sync')
    applied = make_grant(Grant.STATUS_PENDING, name='Speaker 4', email='speaker4@example.org')
    djmail.outbox = []
    one, four = speaker(event, pretalx, 1), speaker(event, pretalx, 4)

    page = offer(manager_client, event, one, four)

    assert '1 travel grant created. 1 speaker already had a grant.' in page
    g = grant_of(event, 'speaker1@example.org')
    assert (g.grant_type, g.status, g.name, g.ticket, g.requested_ticket) == (
        Grant.TYPE_SPEAKER, Grant.STATUS_PENDING, 'Speaker 1', False, False)
    assert (g.requested_travel, g.requested_accommodation, g.requested_other) == (
        Decimal('400.00'), Decimal('150.00'), Decimal('0.00'))
    with scopes_disabled():
        applied.refresh_from_db()
        assert applied.grant_type == Grant.TYPE_APPLICATION
        [created] = LogEntry.objects.filter(action_type='pretix_grants.grant.created', object_id=g.pk)
        assert created.user == manager
    assert djmail.outbox == []  # the speaker hears of it when the offer is published
    speakers_page = manager_client.get(url(event)).content.decode()
    assert 'Speaker support: pending' in speakers_page and f'id="speaker-{one.pk}"' not in speakers_page
    r = api.get('/api/v1/organizers/pyconf/events/2027/grants/?grant_type=speaker')
    assert r.status_code == 200
    assert [(g['email'], g['grant_type']) for g in r.json()['results']] == [('speaker1@example.org', 'speaker')]
    # the list marks it; the pending request counts in the decision's proposal like any other application
    assert 'Speaker support' in manager_client.get('/control/event/pyconf/2027/grants/').content.decode()
    with scope(organizer=event.organizer):
        row = next(r for r in programme.propose(event).rows if r.grant.pk == g.pk)
    assert row.grant.requested_amounts['travel'] == Decimal('400.00')

    # decided and offered as every grant; the speaker answers on the usual reply page
    with scope(organizer=event.organizer), committed():
        workflow.change_fields(g, {'travel_amount': Decimal('400.00'), 'accommodation_amount': Decimal('150.00')})
        workflow.stage_decision(g, Grant.STATUS_APPROVED)
        workflow.publish(g)
    [offer_mail] = [m for m in djmail.outbox if 'speaker1@example.org' in m.to]
    assert g.secret in offer_mail.body
    with committed():
        r = Client().post(f'/pyconf/2027/grant/{g.secret}/', {'answer': 'confirm'})
    assert r.status_code in (200, 302)
    g = grant_of(event, 'speaker1@example.org')
    assert g.status == Grant.STATUS_CONFIRMED and g.voucher_id is None
    # the money comes out of the same budget; the speaker voucher stays the one free ticket
    with scope(organizer=event.organizer):
        assert programme.propose(event).programme.category_budgets['travel'] == Decimal('600.00')
    assert free_tickets(event, item, 'speaker1@example.org') == 1


def test_the_sync_offers_it_to_the_speakers_who_asked_in_pretalx(manager_client, support, pretalx):
    event = support
    event.settings.grants_speakers_support_question = pretalx.data['support_question']

    page = press(manager_client, event, 'sync').content.decode()

    assert 'Travel support offered to 2 speakers who asked for it in pretalx.' in page
    asked = {e: grant_of(event, e) for e in ('speaker2@example.org', 'speaker7@example.org')}
    assert all(g is not None and g.grant_type == Grant.TYPE_SPEAKER for g in asked.values())
    assert asked['speaker2@example.org'].locale == 'de'  # the speaker's language in pretalx
    assert grant_of(event, 'speaker3@example.org') is None  # answered no
    assert grant_of(event, 'speaker1@example.org') is None  # was not asked
    # a second sync offers nothing twice, nor again to a speaker whose grant the organizers deleted
    press(manager_client, event, 'sync')
    with scopes_disabled():
        assert Grant.objects.filter(event=event, grant_type=Grant.TYPE_SPEAKER).count() == 2
        asked['speaker7@example.org'].delete()
    press(manager_client, event, 'sync')
    assert grant_of(event, 'speaker7@example.org') is None
    # the button still can, when the organizers choose so
    assert '1 travel grant created.' in offer(manager_client, event, speaker(event, pretalx, 7))


def test_a_question_nobody_answered_offers_nothing(manager_client, support, pretalx):
    event = support
    event.settings.grants_speakers_support_question = 999999
    assert 'Sync done' in press(manager_client, event, 'sync').content.decode()
    with scopes_disabled():
        assert not Grant.objects.filter(event=event).exists()


def test_nothing_is_offered_without_a_choice_or_to_a_speaker_without_a_talk(manager_client, support, pretalx):
    event = support
    press(manager_client, event, 'sync')
    assert 'Choose the speakers to offer travel support to.' in offer(manager_client, event)
    page = manager_client.post(url(event, 'action/'), {'do': 'support', 'speaker': ['x' * 20, '-1', '²', '1' * 40]},
                               follow=True)
    assert page.status_code == 200
    with scopes_disabled():
        assert not Grant.objects.filter(event=event).exists()
