"""
One grant, one free ticket: each voucher set-up that used to break the promise, judged by pretix's own order
creation (REST ``simulate``) and the shop's cart and checkout. See the voucher rules in ``issuance``.
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, Voucher

from pretix_grants import issuance, lifecycle, mails, tasks, workflow
from pretix_grants.control import forms as control_forms
from pretix_grants.models import Grant

from ..checkout import Shop
from ..conftest import committed, mails_to
from ..control.conftest import url
from ..lifecycle.helpers import cancel, order_with_voucher
from .test_voucher_issuance import sent_by_pretix

ZERO = Decimal('0.00')


@pytest.fixture
def shop(event):
    return Shop(event)


def in_request(event):
    """The plugin's code as a page, the control panel or a task of pretix runs it: in the organizer's scope."""
    return scope(organizer=event.organizer)


def confirm(grant):
    with in_request(grant.event), committed():  # as the grantee's reply page runs it
        workflow.confirm(grant)
    with scopes_disabled():
        grant.refresh_from_db()
    return grant


@scopes_disabled()
def values(voucher):
    return Voucher.objects.filter(pk=voucher.pk).values(
        'price_mode', 'value', 'item', 'variation', 'quota', 'max_usages', 'valid_until', 'block_quota', 'budget',
    ).get()


@scopes_disabled()
def refreshed(*objects):
    for o in objects:
        o.refresh_from_db()


@pytest.mark.django_db
def test_1_a_team_code_with_three_uses_stays_theirs_and_the_grant_gets_one_free_ticket(
        approved_grant, event, item, user, shop):
    team = sent_by_pretix(event, user, 'ada@example.org', code='TEAM25', price_mode='percent',
                          value=Decimal('25.00'), item=item, max_usages=3)
    before = values(team)

    g = confirm(approved_grant)

    assert g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher.code != 'TEAM25'
    assert values(team) == before
    assert shop.order('TEAM25', item, count=3)[0] == Decimal('450.00')  # three tickets at 25% off, as before
    assert shop.free_tickets(g.voucher.code, item) == 1
    # the shop's own cart and checkout: one free ticket, and then no second one
    order = order_with_voucher(event, item, g.voucher)
    assert order.total == ZERO
    assert shop.free_tickets(g.voucher.code, item) == 0


@pytest.mark.django_db
def test_1_linking_a_multi_use_code_is_refused_with_the_reason(make_grant, event, item, grant_settings, api, shop):
    g = make_grant(Grant.STATUS_CONFIRMED)
    with scopes_disabled():
        event.vouchers.create(code='TEAM25', item=item, price_mode='percent', value=Decimal('25.00'), max_usages=3)
    r = api.post(f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/{g.pk}/link_voucher/',
                 {'code': 'TEAM25'}, format='json')
    assert r.status_code == 400
    assert '3 unused uses left' in r.data['detail']
    refreshed(g)
    assert g.voucher is None and g.voucher_state == Grant.VOUCHER_NOT_ISSUED
    assert shop.order('TEAM25', item)[0] == Decimal('150.00')


@pytest.mark.django_db
def test_2_a_voucher_with_a_budget_is_not_upgraded_and_the_grant_ticket_is_really_free(
        approved_grant, event, item, user, shop):
    capped = sent_by_pretix(event, user, 'ada@example.org', code='CAPPED', price_mode='percent',
                            value=Decimal('25.00'), item=item, budget=Decimal('25.00'))
    assert shop.order('CAPPED', item)[0] == Decimal('175.00')  # pretix caps the 50.00 discount at the budget
    before = values(capped)

    g = confirm(approved_grant)

    assert g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher != capped
    assert values(capped) == before
    assert shop.free_tickets(g.voucher.code, item) == 1
    assert 'free' in mails_to('ada@example.org')[0].body.lower() or g.voucher.code in mails_to('ada@example.org')[0].body


@pytest.mark.django_db
def test_2_a_voucher_for_several_tickets_at_once_is_not_upgraded(approved_grant, event, item, user, shop):
    group = sent_by_pretix(event, user, 'ada@example.org', code='GROUP', price_mode='percent',
                           value=Decimal('25.00'), item=item, max_usages=1, min_usages=2)
    g = confirm(approved_grant)
    assert g.voucher != group and shop.free_tickets(g.voucher.code, item) == 1


@pytest.mark.django_db
def test_3_a_workshop_voucher_is_never_taken_over(approved_grant, event, item, user, shop):
    with scopes_disabled():
        workshop = event.items.create(name='Workshop', default_price=Decimal('80.00'))
        event.quotas.get().items.add(workshop)
    half = sent_by_pretix(event, user, 'ada@example.org', code='WORKSHOP50', price_mode='percent',
                          value=Decimal('50.00'), item=workshop)
    before = values(half)

    g = confirm(approved_grant)

    assert values(half) == before and g.voucher != half
    assert shop.order('WORKSHOP50', workshop)[0] == Decimal('40.00')
    assert shop.free_tickets(g.voucher.code, item) == 1


@pytest.mark.django_db
def test_1_a_single_use_discount_voucher_is_upgraded_to_exactly_one_free_ticket_and_restored(
        approved_grant, event, item, user, shop):
    own = sent_by_pretix(event, user, 'ada@example.org', code='OWN25', price_mode='percent',
                         value=Decimal('25.00'), item=item)
    before = values(own)
    g = confirm(approved_grant)
    assert (g.voucher, g.voucher_state) == (own, Grant.VOUCHER_UPGRADED)
    assert shop.free_tickets('OWN25', item) == 1

    with in_request(event):
        workflow.refuse(g)
    assert values(own) == before
    assert shop.order('OWN25', item)[0] == Decimal('150.00')
    assert shop.free_tickets('OWN25', item) == 0


@pytest.mark.django_db
def test_4_a_voucher_deleted_in_pretix_is_noticed_and_issued_again(
        approved_grant, event, item, manager_client, api, client, shop):
    g = confirm(approved_grant)
    code = g.voucher.code
    with in_request(event):  # what pretix's voucher delete page does
        Voucher.objects.get(pk=g.voucher_id).delete()

    refreshed(g)
    assert g.voucher is None and g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
    assert code in g.voucher_attention and 'deleted' in g.voucher_attention
    # the grantee's page no longer says the voucher is on its way
    r = client.get(mails.reply_url(g).removeprefix('http://example.com'))
    assert r.status_code == 200
    page = r.content.decode()
    assert 'on its way' not in page and 'Ada Lovelace' in page
    # the API shows it and issues again
    api_url = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/{g.pk}/'
    assert api.get(api_url).data['needs_attention'] == g.voucher_attention
    with committed():
        r = api.post(api_url + 'issue_voucher/')
    assert r.status_code == 200, r.data
    assert r.data['voucher_state'] == Grant.VOUCHER_ISSUED
    assert shop.free_tickets(r.data['voucher'], item) == 1
    assert api.post(api_url + 'issue_voucher/').status_code == 400  # it holds one now


@pytest.mark.django_db
def test_4_the_control_panel_issues_again_after_a_deletion(approved_grant, event, item, manager_client, shop):
    g = confirm(approved_grant)
    with in_request(event):  # what pretix's voucher delete page does
        Voucher.objects.get(pk=g.voucher_id).delete()
    r = manager_client.post(url(event, f'{g.pk}/action/'), {'operation': 'issue'}, follow=True)
    assert r.status_code == 200
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_ISSUED and shop.free_tickets(g.voucher.code, item) == 1


@pytest.mark.django_db
@pytest.mark.parametrize('edit', ['expired', 'half-price', 'another product', 'a budget', 'three uses'])
def test_4_a_voucher_made_unusable_in_pretix_is_noticed_and_issued_again(
        approved_grant, event, item, quota, api, client, manager_client, shop, edit):
    g = confirm(approved_grant)
    old = g.voucher
    assert shop.free_tickets(old.code, item) == 1
    # an organizer edits the grant's voucher through pretix's own API
    free_after = 0
    if edit == 'expired':
        edit = {'valid_until': '2020-01-01T00:00:00Z'}
    elif edit == 'half-price':
        edit = {'price_mode': 'percent', 'value': '50.00'}
    elif edit == 'a budget':
        edit = {'budget': '10.00'}
    elif edit == 'three uses':
        edit, free_after = {'max_usages': 3}, 2  # two or more free tickets
    else:
        with scopes_disabled():
            workshop = event.items.create(name='Workshop', default_price=Decimal('80.00'))
            quota.items.add(workshop)
        edit = {'item': workshop.pk}
    with committed():
        r = api.patch(f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/vouchers/{old.pk}/', edit,
                      format='json')
    assert r.status_code == 200, r.data
    assert shop.free_tickets(old.code, item) == free_after

    refreshed(g)
    assert g.voucher is None and g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
    assert g.voucher_attention == (f'Voucher {old.code} was changed in pretix and no longer gives a free ticket; '
                                   'issue the voucher again.')
    page = client.get(mails.reply_url(g).removeprefix('http://example.com')).content.decode()
    assert 'on its way' not in page and old.code not in page

    manager_client.post(url(event, f'{g.pk}/action/'), {'operation': 'issue'}, follow=True)
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher_id != old.pk
    assert shop.free_tickets(g.voucher.code, item) == 1
    assert shop.free_tickets(old.code, item) == free_after, 'the edited voucher stays as the organizer left it'


@pytest.mark.django_db
def test_4_the_persons_own_voucher_made_unusable_is_not_taken_again(
        approved_grant, event, item, user, api, manager_client, shop):
    own = sent_by_pretix(event, user, 'ada@example.org', code='OWN25', price_mode='percent',
                         value=Decimal('25.00'), item=item)
    g = confirm(approved_grant)
    assert g.voucher_state == Grant.VOUCHER_UPGRADED and shop.free_tickets('OWN25', item) == 1
    with committed():
        r = api.patch(f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/vouchers/{own.pk}/',
                      {'price_mode': 'percent', 'value': '50.00'}, format='json')
    assert r.status_code == 200, r.data
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and g.voucher is None
    edited = values(own)

    manager_client.post(url(event, f'{g.pk}/action/'), {'operation': 'issue'}, follow=True)
    refreshed(g)
    # a new voucher of the grant's own; theirs stays as the organizer left it, and is not taken back
    assert g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher_id != own.pk
    assert shop.free_tickets(g.voucher.code, item) == 1
    assert values(own) == edited and shop.free_tickets('OWN25', item) == 0


@pytest.mark.django_db
def test_4_an_edit_that_keeps_the_free_ticket_or_follows_its_use_changes_nothing(
        approved_grant, event, item, api, shop):
    g = confirm(approved_grant)
    base = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/vouchers/{g.voucher_id}/'
    with committed():
        assert api.patch(base, {'comment': 'Grant of Ada', 'valid_until': (now() + timedelta(days=90)).isoformat()},
                         format='json').status_code == 200
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_ISSUED and shop.free_tickets(g.voucher.code, item) == 1
    # validity that ran out by itself is not an edit: a later note changes nothing
    with scopes_disabled():
        Voucher.objects.filter(pk=g.voucher_id).update(valid_until=now() - timedelta(days=1))
    with committed():
        assert api.patch(base, {'comment': 'After the event'}, format='json').status_code == 200
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher_attention == ''
    with scopes_disabled():
        Voucher.objects.filter(pk=g.voucher_id).update(valid_until=now() + timedelta(days=90))
    # used for the ticket, then ended by the organizer: the grant's ticket is bought, nothing to notice
    order = order_with_voucher(event, item, g.voucher)
    assert order.total == ZERO
    with committed():
        assert api.patch(base, {'valid_until': '2020-01-01T00:00:00Z'}, format='json').status_code == 200
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher_attention == ''


@pytest.mark.django_db
def test_5_an_upgraded_voucher_edited_meanwhile_is_not_reverted(approved_grant, event, item, user, shop):
    own = sent_by_pretix(event, user, 'ada@example.org', code='OWN25', price_mode='percent',
                         value=Decimal('25.00'), item=item)
    g = confirm(approved_grant)
    with scopes_disabled():  # an organizer's edit
        Voucher.objects.filter(pk=own.pk).update(valid_until=now() + timedelta(days=5))
    edited = values(own)

    with in_request(event):
        workflow.cancel(g)

    assert values(own) == edited
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and 'edited' in g.voucher_attention
    assert shop.free_tickets('OWN25', item) == 1  # what the organizer left it as; nothing silently changed


@pytest.mark.django_db
def test_5_a_used_upgraded_voucher_is_judged_by_its_orders(approved_grant, event, item, user, shop):
    own = sent_by_pretix(event, user, 'ada@example.org', code='OWN25', price_mode='percent',
                         value=Decimal('25.00'), item=item)
    g = confirm(approved_grant)
    order = order_with_voucher(event, item, own)
    assert order.total == ZERO

    with in_request(event):
        workflow.refuse(g)

    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and order.code in g.voucher_attention
    assert values(own)['price_mode'] == 'set'  # kept: the free ticket was bought with it


@pytest.mark.django_db
def test_5_an_issued_voucher_whose_order_was_canceled_is_not_used_and_ends_unusable(
        approved_grant, event, item, shop):
    g = confirm(approved_grant)
    code = g.voucher.code
    order = order_with_voucher(event, item, g.voucher)
    cancel(order)

    with in_request(event):
        workflow.cancel(g)

    refreshed(g)
    assert (g.voucher, g.voucher_state) == (None, Grant.VOUCHER_NOT_ISSUED)
    assert shop.free_tickets(code, item) == 0


@pytest.mark.django_db
def test_5_restoring_a_quota_blocking_voucher_checks_availability(make_grant, event, grant_settings, user, shop):
    with scopes_disabled():
        shirt = event.items.create(name='Ticket with size', default_price=Decimal('200.00'), admission=True)
        small, large = shirt.variations.create(value='S'), shirt.variations.create(value='L')
        q_small = event.quotas.create(name='S', size=5)
        q_small.items.add(shirt)
        q_small.variations.add(small)
        q_large = event.quotas.create(name='L', size=1)
        q_large.items.add(shirt)
        q_large.variations.add(large)
    event.settings.grants_voucher_item = shirt.pk
    event.settings.grants_voucher_variation = small.pk
    g = make_grant(Grant.STATUS_APPROVED, email='ada@example.org')
    # their own voucher for any size, reserving one of each
    own = sent_by_pretix(event, user, 'ada@example.org', code='ANYSIZE', price_mode='percent',
                         value=Decimal('25.00'), item=shirt, block_quota=True)
    g = confirm(g)
    assert g.voucher_state == Grant.VOUCHER_UPGRADED
    assert shop.free_tickets('ANYSIZE', shirt, variation=small) == 1
    # the large size it no longer reserves is sold meanwhile
    total, r = shop.order(None, shirt, variation=large, simulate=False)
    assert total == Decimal('200.00'), r.data
    upgraded = values(own)

    with in_request(event):
        workflow.refuse(g)

    assert values(own) == upgraded  # putting the reservation back would sell past the quota
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and 'quota' in g.voucher_attention


@pytest.mark.django_db
def test_6_the_edit_form_does_not_write_back_a_voucher_issued_meanwhile(
        make_grant, grant_settings, event, item, manager_client, monkeypatch):
    g = make_grant(Grant.STATUS_APPROVED, email='ada@example.org')
    with in_request(event):
        workflow.confirm(g)  # the voucher task has not run yet
    issued_during_edit = []

    def clean_name(form):
        # the issuance task commits while the organizer's edit is being processed
        if not issued_during_edit:
            with in_request(event):  # the task's own scope
                issued_during_edit.append(issuance.issue_voucher(g.pk))
        return form.cleaned_data['name']

    monkeypatch.setattr(control_forms.GrantForm, 'clean_name', clean_name, raising=False)
    r = manager_client.post(url(event, f'{g.pk}/edit/'), {
        'name': 'Ada King', 'email': 'ada@example.org', 'locale': 'en', 'ticket': 'on',
        'travel_amount': '300.00', 'accommodation_amount': '0.00', 'other_amount': '0.00', 'internal_note': '',
    })
    assert r.status_code == 302
    refreshed(g)
    assert g.name == 'Ada King'
    assert g.status == Grant.STATUS_CONFIRMED and g.voucher_state == Grant.VOUCHER_ISSUED and g.voucher_id
    with scopes_disabled():
        Grant.objects.filter(pk=g.pk).update(modified=now() - tasks.STALE_AFTER * 2)
    assert tasks.requeue_stale_issuance() == 0  # as cron runs it: no scope
    with scopes_disabled():
        assert event.vouchers.count() == 1
    assert len(mails_to('ada@example.org')) == 1


@pytest.mark.django_db
def test_8_promotion_skips_a_candidate_rejected_meanwhile_and_logs_it(make_grant, event, grant_settings, monkeypatch):
    event.settings.grants_promote_waiting_list = True
    first = make_grant(Grant.STATUS_WAITING_LIST, rank=1)
    second = make_grant(Grant.STATUS_WAITING_LIST, rank=2)
    freed = make_grant(Grant.STATUS_REFUSED)
    with in_request(event):
        listed = list(lifecycle.waiting_list(event).values_list('pk', flat=True))
    # an organizer rejects the first candidate after the waiting list was read
    with scopes_disabled():
        Grant.objects.filter(pk=first.pk).update(status=Grant.STATUS_REJECTED)
    monkeypatch.setattr(lifecycle, 'waiting_list', lambda e: Grant.objects.filter(pk__in=listed).order_by('rank'))

    with in_request(event):  # as pretix's task for the event runs it
        promoted = lifecycle.promote_for(freed)

    assert promoted.pk == second.pk
    with scopes_disabled():
        assert Grant.objects.get(pk=first.pk).status == Grant.STATUS_REJECTED
        assert Grant.objects.get(pk=second.pk).status == Grant.STATUS_APPROVED
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.place_candidate_skipped',
                                       object_id=freed.pk).count() == 1


@pytest.mark.django_db
def test_8_a_failed_queueing_after_a_status_change_is_logged(approved_grant, event, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError('broker down')

    monkeypatch.setattr(tasks.issue_grant_voucher, 'apply_async', broken)
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    refreshed(approved_grant)
    assert approved_grant.status == Grant.STATUS_CONFIRMED
    assert 'Queueing the voucher of grant' in caplog.text


@scopes_disabled()
def event_series(event, item):
    """Two dates with a quota each; grant vouchers for ``item``, blocking quota."""
    event.has_subevents = True
    event.save()
    day1 = event.subevents.create(name='Day 1', date_from=now() + timedelta(days=60), active=True)
    day2 = event.subevents.create(name='Day 2', date_from=now() + timedelta(days=61), active=True)
    for day in (day1, day2):
        q = event.quotas.create(name=f'Tickets {day.name}', size=10, subevent=day)
        q.items.add(item)
    event.settings.grants_voucher_item = item.pk
    event.settings.grants_voucher_block_quota = True
    return day1, day2


EDIT_FORM = {'locale': 'en', 'ticket': 'on', 'travel_amount': '300.00', 'accommodation_amount': '0.00',
             'other_amount': '0.00', 'internal_note': ''}


@pytest.mark.django_db
def test_9_a_grant_in_an_event_series_names_its_date_and_its_voucher_carries_it(
        make_grant, event, item, shop, manager_client):
    day1, day2 = event_series(event, item)
    g = make_grant(Grant.STATUS_APPROVED, email='ada@example.org')
    form = {**EDIT_FORM, 'name': g.name, 'email': g.email, 'subevent': day2.pk}
    r = manager_client.post(url(event, f'{g.pk}/edit/'), form)
    assert r.status_code == 302
    refreshed(g)
    assert g.subevent == day2

    g = confirm(g)

    assert g.voucher_state == Grant.VOUCHER_ISSUED, g.voucher_attention
    assert (g.voucher.subevent, g.voucher.block_quota) == (day2, True)
    assert shop.free_tickets(g.voucher.code, item, subevent=day2) == 1
    assert shop.free_tickets(g.voucher.code, item, subevent=day1) == 0


@pytest.mark.django_db
def test_9_the_bulk_issue_gives_dated_grants_their_vouchers_and_flags_only_those_without_a_date(
        make_grant, event, item, shop):
    day1, day2 = event_series(event, item)
    dated = make_grant(Grant.STATUS_CONFIRMED, email='ada@example.org', subevent=day2)
    undated = make_grant(Grant.STATUS_CONFIRMED, email='grace@example.org')
    with in_request(event), committed():  # as the bulk action's task runs it
        issuance.issue_vouchers(event, [dated.pk, undated.pk])
    refreshed(dated, undated)
    assert dated.voucher_state == Grant.VOUCHER_ISSUED, dated.voucher_attention
    assert shop.free_tickets(dated.voucher.code, item, subevent=day2) == 1
    assert shop.free_tickets(dated.voucher.code, item, subevent=day1) == 0
    assert len(mails_to('ada@example.org')) == 1
    assert undated.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and undated.voucher is None
    assert 'choose the date of this grant' in undated.voucher_attention
    assert mails_to('grace@example.org') == []


@pytest.mark.django_db
def test_9_a_grants_date_stays_once_its_voucher_is_issued(make_grant, event, item, shop, manager_client, api):
    day1, day2 = event_series(event, item)
    g = confirm(make_grant(Grant.STATUS_APPROVED, email='ada@example.org', subevent=day1))
    assert g.voucher_state == Grant.VOUCHER_ISSUED, g.voucher_attention
    # the control panel's form says why and changes nothing
    form = {**EDIT_FORM, 'name': g.name, 'email': g.email, 'subevent': day2.pk, 'internal_note': 'moved'}
    r = manager_client.post(url(event, f'{g.pk}/edit/'), form)
    assert r.status_code == 200
    assert 'voucher has already been issued for the current date.' in r.content.decode()
    # and so does the API
    base = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/{g.pk}/'
    r = api.patch(base, {'subevent': day2.pk, 'internal_note': 'moved'}, format='json')
    assert r.status_code == 400 and 'already been issued' in str(r.data['subevent'])
    refreshed(g)
    assert (g.subevent, g.internal_note) == (day1, '')
    assert shop.free_tickets(g.voucher.code, item, subevent=day1) == 1
    # the same date, sent again with other changes, is no change of date
    assert api.patch(base, {'subevent': day1.pk, 'internal_note': 'ok'}, format='json').status_code == 200


@pytest.mark.django_db
def test_9_the_api_sets_a_grants_date(make_grant, event, api):
    with scopes_disabled():
        event.has_subevents = True
        event.save()
        day = event.subevents.create(name='Day 1', date_from=now() + timedelta(days=60), active=True)
    g = make_grant()
    base = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/{g.pk}/'
    r = api.patch(base, {'subevent': day.pk}, format='json')
    assert r.status_code == 200 and r.data['subevent'] == day.pk
    assert api.patch(base, {'subevent': 999999}, format='json').status_code == 400
