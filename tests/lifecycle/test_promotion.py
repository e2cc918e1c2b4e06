from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time
from pretix.base.models import LogEntry

from pretix_grants import lifecycle, workflow
from pretix_grants.models import Grant

from ..conftest import committed, mails_to

# lifecycle.expire_offers is called with no scope, as pretix's periodic task runs it; the promotion it and a refusal
# queue runs as pretix's task does, in the organizer's scope


def answered(grant):
    """The plugin's code as the reply page or the control panel runs it: in the organizer's scope."""
    return scope(organizer=grant.event.organizer)


@pytest.fixture
def programme(event, grant_settings, make_grant):
    """Two offers out, three on the waiting list; promotion on."""
    event.settings.grants_promote_waiting_list = True
    offers = [make_grant(Grant.STATUS_APPROVED, email=f'offer{i}@example.org') for i in range(2)]
    waiting = {
        'early_unranked': make_grant(Grant.STATUS_WAITING_LIST, email='early@example.org'),
        'second': make_grant(Grant.STATUS_WAITING_LIST, email='second@example.org', rank=2),
        'first': make_grant(Grant.STATUS_WAITING_LIST, email='first@example.org', rank=1),
    }
    return offers, waiting


@scopes_disabled()
def status(grant):
    grant.refresh_from_db()
    return grant.status


@pytest.mark.django_db
def test_a_refusal_offers_the_place_to_the_best_ranked_waiting_grant(programme):
    (offer, _), waiting = programme
    moment = lifecycle.now().replace(microsecond=0)
    with freeze_time(moment), answered(offer), committed():
        workflow.refuse(offer)

    with scopes_disabled():
        promoted = Grant.objects.get(pk=waiting['first'].pk)
    assert promoted.status == Grant.STATUS_APPROVED
    assert promoted.offered_at == moment
    assert promoted.reply_deadline == moment + timedelta(days=14)
    [m] = mails_to('first@example.org')
    assert m.subject == 'Your grant for PyConf 2027: please confirm'
    assert status(waiting['second']) == status(waiting['early_unranked']) == Grant.STATUS_WAITING_LIST
    with scopes_disabled():
        offer.refresh_from_db()
        assert offer.place_taken_by == promoted
        log = LogEntry.objects.get(action_type='pretix_grants.grant.approved', object_id=promoted.pk)
    assert log.parsed_data['actor'] == workflow.SYSTEM and log.parsed_data['place_of'] == offer.pk


@pytest.mark.django_db
def test_an_expiry_offers_the_place_too_and_unranked_grants_come_by_application_time(programme):
    (offer, other), waiting = programme
    with scopes_disabled():
        Grant.objects.filter(pk=other.pk).update(reply_deadline=offer.reply_deadline + timedelta(days=1))
        Grant.objects.filter(pk__in=[waiting['first'].pk, waiting['second'].pk]).update(rank=None)
    with freeze_time(offer.reply_deadline + timedelta(seconds=1)), committed():
        assert lifecycle.expire_offers() == 1
    assert status(offer) == Grant.STATUS_EXPIRED
    assert status(waiting['early_unranked']) == Grant.STATUS_APPROVED
    assert status(waiting['first']) == Grant.STATUS_WAITING_LIST


@pytest.mark.django_db
def test_one_freed_place_is_given_once(programme):
    (offer, _), waiting = programme
    with answered(offer), committed():
        workflow.refuse(offer)
    with scopes_disabled():
        freed = Grant.objects.get(pk=offer.pk)
    with answered(offer):  # pretix's task for the event, run again by a repeated signal
        assert lifecycle.promote_for(freed) is None
    with scopes_disabled():
        approved = Grant.objects.filter(pk__in=[g.pk for g in waiting.values()], status=Grant.STATUS_APPROVED)
        assert approved.count() == 1


@pytest.mark.django_db
def test_promotion_is_off_by_default(programme, event):
    (offer, _), waiting = programme
    event.settings.delete('grants_promote_waiting_list')
    with answered(offer), committed():
        workflow.refuse(offer)
    assert all(status(g) == Grant.STATUS_WAITING_LIST for g in waiting.values())


@pytest.mark.django_db
def test_a_full_budget_promotes_nobody(programme, event):
    (offer, other), waiting = programme
    # the two offers hold 600.00; after a refusal 300.00 are held, and the next grant asks for 300.00
    event.settings.grants_budget = Decimal('599.99')
    with answered(offer), committed():
        workflow.refuse(offer)
    assert status(waiting['first']) == Grant.STATUS_WAITING_LIST
    assert mails_to('first@example.org') == []
    with scopes_disabled():
        log = LogEntry.objects.get(action_type='pretix_grants.grant.place_not_refilled', object_id=offer.pk)
    assert 'budget' in log.parsed_data['reason']

    event.settings.grants_budget = Decimal('600.00')
    with answered(other), committed():
        workflow.refuse(other)
    assert status(waiting['first']) == Grant.STATUS_APPROVED


@pytest.mark.django_db
def test_the_maximum_number_of_offers_is_respected(programme, event, make_grant):
    (offer, _), waiting = programme
    make_grant(Grant.STATUS_CONFIRMED, email='confirmed@example.org')
    event.settings.grants_max_offers = 2  # an offer and a confirmed grant remain after the refusal
    with answered(offer), committed():
        workflow.refuse(offer)
    assert status(waiting['first']) == Grant.STATUS_WAITING_LIST

    event.settings.grants_max_offers = 3
    with scopes_disabled():
        offer.place_taken_by = None
        offer.save()
    with answered(offer):  # pretix's task for the event
        assert lifecycle.promote_for(offer) is not None
    assert status(waiting['first']) == Grant.STATUS_APPROVED


@pytest.mark.django_db
def test_a_confirmed_grantee_withdrawing_frees_a_place(programme):
    (offer, _), waiting = programme
    with answered(offer), committed():
        workflow.confirm(offer)
        workflow.refuse(Grant.objects.get(pk=offer.pk))  # the reply page reads the grant in its scope
    assert status(waiting['first']) == Grant.STATUS_APPROVED


@pytest.mark.django_db
def test_an_empty_waiting_list_changes_nothing(event, grant_settings, make_grant):
    event.settings.grants_promote_waiting_list = True
    offer = make_grant(Grant.STATUS_APPROVED)
    with answered(offer), committed():
        workflow.refuse(offer)
    assert status(offer) == Grant.STATUS_REFUSED
    assert djmail.outbox == []


@pytest.mark.django_db
def test_a_grant_offered_again_after_expiry_frees_a_place_again(programme):
    (offer, other), waiting = programme
    with scopes_disabled():
        Grant.objects.filter(pk=other.pk).update(reply_deadline=offer.reply_deadline + timedelta(days=30))
    with freeze_time(offer.reply_deadline + timedelta(seconds=1)), committed():
        lifecycle.expire_offers()
    assert status(waiting['first']) == Grant.STATUS_APPROVED
    with answered(offer), committed():
        again = workflow.change_status(Grant.objects.get(pk=offer.pk), Grant.STATUS_APPROVED,
                                       actor=workflow.ORGANIZER)
    with scopes_disabled():
        again.refresh_from_db()
    assert again.place_taken_by is None
    with answered(again), committed():
        workflow.refuse(again)
    assert status(waiting['second']) == Grant.STATUS_APPROVED


@pytest.mark.django_db
def test_a_refusal_through_the_reply_page_promotes(programme, client):
    (offer, _), waiting = programme
    with committed():
        response = client.post(f'/pyconf/2027/grant/{offer.secret}/', {'answer': 'decline', 'really': 'yes'})
    assert response.status_code in (200, 302)
    assert status(offer) == Grant.STATUS_REFUSED
    assert status(waiting['first']) == Grant.STATUS_APPROVED
