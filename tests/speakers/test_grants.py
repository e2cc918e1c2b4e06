"""
Speakers and grants: whatever the combination, exactly one free ticket per person through pretix's order creation.
"""
from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled
from pretix.base.models import Voucher

from pretix_grants import workflow
from pretix_grants.models import Grant, Speaker

from ..checkout import Shop
from ..conftest import committed
from ..control.conftest import url as grant_url
from .helpers import SECOND, SOLO, TRIO, press, speaker

pytestmark = pytest.mark.django_db


def confirmed_grant(make_grant, event, email):
    g = make_grant(Grant.STATUS_APPROVED, email=email)
    with scope(organizer=event.organizer), committed():
        workflow.confirm(g)
    with scopes_disabled():
        g.refresh_from_db()
    return g


@scopes_disabled()
def free_tickets(event, item, email):
    """Free tickets this person can buy with every voucher pretix knows they hold (sent to them, or their grant's)."""
    shop = Shop(event)
    codes = set(Voucher.objects.filter(event=event, grant_speakers__email=email).values_list('code', flat=True))
    codes |= set(Voucher.objects.filter(event=event, grant__email=email).values_list('code', flat=True))
    return sum(shop.free_tickets(code, item) for code in codes)


def test_a_main_speaker_who_is_a_grantee_gets_no_second_free_ticket(manager_client, connected, pretalx, item,
                                                                    make_grant):
    event = connected
    press(manager_client, event, 'sync')
    with scopes_disabled():
        held = speaker(event, pretalx, 1).voucher
        count = Voucher.objects.filter(event=event).count()
    g = confirmed_grant(make_grant, event, 'speaker1@example.org')
    with scopes_disabled():
        assert g.voucher_state == Grant.VOUCHER_LINKED and g.voucher_id == held.pk
        assert Voucher.objects.filter(event=event).count() == count
        assert g.travel_amount == Decimal('300.00')  # the grant keeps its money
    assert free_tickets(event, item, 'speaker1@example.org') == 1
    page = manager_client.get(grant_url(event, f'{g.pk}/')).content.decode()
    assert 'existing free voucher' in page.lower() and held.code in page


def test_a_co_speakers_discount_voucher_is_upgraded_in_place_when_the_grant_is_confirmed(
        manager_client, connected, pretalx, item, make_grant):
    event = connected
    press(manager_client, event, 'sync')
    with scopes_disabled():
        held = speaker(event, pretalx, 3).voucher
        assert Shop(event).order(held.code, item)[0] == Decimal('150.00')
    g = confirmed_grant(make_grant, event, 'speaker3@example.org')
    with scopes_disabled():
        assert g.voucher_state == Grant.VOUCHER_UPGRADED and g.voucher_id == held.pk
    assert free_tickets(event, item, 'speaker3@example.org') == 1
    # the co-speaker then becoming main speaker changes nothing: the voucher is the grant's now
    pretalx.run('remove', pretalx.data['talks'][TRIO], pretalx.data['speakers']['7'])
    with scopes_disabled():
        connected.settings.grants_pretalx_states = ['accepted', 'confirmed']
    press(manager_client, event, 'sync')
    assert free_tickets(event, item, 'speaker3@example.org') == 1


def test_a_grantee_with_a_free_ticket_who_becomes_a_speaker_gets_no_speaker_voucher(
        manager_client, connected, pretalx, item, make_grant):
    event = connected
    g = confirmed_grant(make_grant, event, 'speaker7@example.org')
    with scopes_disabled():
        assert g.voucher_state == Grant.VOUCHER_ISSUED
    press(manager_client, event, 'sync')
    with scopes_disabled():
        sp = speaker(event, pretalx, 7)
        assert sp.state == Speaker.STATE_GRANT and sp.voucher_id is None
    assert free_tickets(event, item, 'speaker7@example.org') == 1
    # the grant cancelled: the speaker gets their own voucher at the next sync
    with scope(organizer=event.organizer), committed():
        workflow.cancel(Grant.objects.get(pk=g.pk))
    press(manager_client, event, 'sync')
    with scopes_disabled():
        sp = speaker(event, pretalx, 7)
        assert sp.state == Speaker.STATE_ISSUED and sp.voucher_id
    assert free_tickets(event, item, 'speaker7@example.org') == 1


def test_a_speaker_who_loses_speaker_status_keeps_the_grants_free_ticket(manager_client, connected, pretalx, item,
                                                                         make_grant):
    event = connected
    press(manager_client, event, 'sync')
    g = confirmed_grant(make_grant, event, 'speaker1@example.org')
    pretalx.run('state', pretalx.data['talks'][SOLO], 'withdrawn')
    pretalx.run('state', pretalx.data['talks'][SECOND], 'rejected')
    press(manager_client, event, 'sync')
    with scopes_disabled():
        sp = speaker(event, pretalx, 1)
        assert sp.role == Speaker.ROLE_NONE and sp.state == Speaker.STATE_GRANT
        g.refresh_from_db()
        assert g.voucher_state == Grant.VOUCHER_LINKED and g.voucher.valid_until > g.voucher.created
    assert free_tickets(event, item, 'speaker1@example.org') == 1


def test_a_speaker_whose_grant_is_refused_keeps_the_speaker_ticket(manager_client, connected, pretalx, item,
                                                                   make_grant):
    event = connected
    press(manager_client, event, 'sync')
    g = confirmed_grant(make_grant, event, 'speaker2@example.org')
    with scope(organizer=event.organizer), committed():
        workflow.cancel(Grant.objects.get(pk=g.pk))
    press(manager_client, event, 'sync')
    with scopes_disabled():
        assert speaker(event, pretalx, 2).state == Speaker.STATE_ISSUED
    assert free_tickets(event, item, 'speaker2@example.org') == 1
