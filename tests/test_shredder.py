import json
from datetime import timedelta
from decimal import Decimal
from zipfile import ZipFile

import pytest
from django.db import IntegrityError, transaction
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.models import CachedFile, Event, LogEntry, OutgoingMail
from pretix.base.services.shredder import export, shred

from pretix_grants import workflow
from pretix_grants.models import Grant, GrantMail
from pretix_grants.shredder import SHREDDED

from .conftest import committed, event_scope

PII = ['Ada Lovelace', 'ada@example.org', 'Grace Hopper', 'Grace H.', 'grace@example.org', 'needs a wheelchair',
       'Alan Turing', 'alan@example.org', 'Edsger Dijkstra', 'edsger@example.org', 'was ill in March']


@pytest.fixture
def grants_with_history(event, api, approved_grant, make_grant):
    """Grants whose rows, log entries, mails and voucher comment all hold personal data, made the usual ways."""
    url = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/'
    with event_scope(event), committed():  # as the reply page confirms
        workflow.confirm(approved_grant)  # voucher "Grant for Ada Lovelace <ada@example.org>", voucher mail
    r = api.post(url, {'name': 'Grace Hopper', 'email': 'grace@example.org', 'internal_note': 'needs a wheelchair',
                       'amounts': {'travel': '450.00'}}, format='json')
    assert r.status_code == 201, r.data
    with scopes_disabled():
        grace = Grant.objects.get(pk=r.data['id'])
    assert api.patch(f'{url}{grace.pk}/', {'name': 'Grace H.'}, format='json').status_code == 200
    alan = make_grant(Grant.STATUS_APPROVED, name='Alan Turing', email='alan@example.org')
    with event_scope(event):  # as the grant's page cancels it
        workflow.cancel(alan, reason='Alan Turing was ill in March')
    edsger = api.post(url, {'name': 'Edsger Dijkstra', 'email': 'edsger@example.org'}, format='json').data['id']
    assert api.delete(f'{url}{edsger}/').status_code == 204
    approved_grant.refresh_from_db()
    assert approved_grant.voucher.comment == 'Grant for Ada Lovelace <ada@example.org>'
    return [approved_grant, grace, alan]


def event_over(event):
    event.date_from, event.date_to, event.live = now() - timedelta(days=3), now() - timedelta(days=2), False
    event.save()


def run_shredder(event, identifiers):
    """pretix's own shredder service: the export (a zip with a confirm code), then the shredding, as its tasks."""
    cfid = export.apply(args=(event.pk, identifiers)).get()
    cf = CachedFile.objects.get(pk=cfid)
    with ZipFile(cf.file.file, 'r') as z:
        files = {name: z.read(name).decode() for name in z.namelist()}
    shred.apply(args=(event.pk, str(cfid), files['CONFIRM_CODE.txt'])).get()
    return files


@scopes_disabled()
def event_log_text(event):
    return ' '.join(LogEntry.objects.filter(event=event).values_list('data', flat=True))


@pytest.mark.django_db
def test_the_shredder_is_offered_only_where_the_plugin_is_active(event, organizer):
    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='Other', slug='other', date_from=now())
    with event_scope(event):  # pretix's shredder page asks
        assert 'pretix_grants' in event.get_data_shredders()
        assert 'pretix_grants' not in other.get_data_shredders()


@pytest.mark.django_db
def test_shredding_removes_personal_data_and_keeps_the_numbers(event, organizer, grants_with_history):
    ada, grace, alan = grants_with_history
    with scopes_disabled():
        other_event = Event.objects.create(organizer=organizer, name='Other', slug='other', date_from=now(),
                                           plugins='pretix_grants')
        untouched = Grant.objects.create(event=other_event, name='Ada Lovelace', email='ada@example.org')
        before = {g.pk: (g.status, g.voucher_id, g.voucher_state, g.amounts, g.ticket)
                  for g in Grant.objects.filter(event=event)}
        mail_kinds = sorted(GrantMail.objects.filter(grant__event=event).values_list('kind', flat=True))
    code = ada.voucher.code
    text = event_log_text(event)
    assert all(p in text for p in ['Grace H.', 'was ill in March', 'edsger@example.org'])
    event_over(event)

    files = run_shredder(event, ['pretix_grants'])

    exported = {g['email']: g for g in json.loads(files['grants.json'])}
    assert exported['grace@example.org']['name'] == 'Grace H.'
    assert exported['grace@example.org']['internal_note'] == 'needs a wheelchair'
    assert exported['ada@example.org']['voucher'] == code

    with scopes_disabled():
        grants = list(Grant.objects.filter(event=event))
    assert {g.pk: (g.status, g.voucher_id, g.voucher_state, g.amounts, g.ticket) for g in grants} == before
    assert all(g.name == SHREDDED and g.internal_note == '' for g in grants)
    assert all(g.email.endswith('@shredded.invalid') for g in grants)
    assert len({g.email for g in grants}) == len(grants)
    ada.refresh_from_db()
    assert ada.voucher.code == code
    assert ada.voucher.comment == f'Grant for {SHREDDED} <{SHREDDED}>'

    text = event_log_text(event)
    assert [p for p in PII if p in text] == []
    assert LogEntry.objects.filter(event=event, action_type='pretix_grants.grant.changed', shredded=True).exists()
    assert LogEntry.objects.get(event=event, action_type='pretix_grants.grant.cancelled').parsed_data == {
        'old_status': 'approved', 'new_status': 'cancelled', 'actor': 'organizer', 'reason': SHREDDED}

    # the history still says that mails were sent, but pretix's copies with address and text are gone
    with scopes_disabled():
        assert sorted(GrantMail.objects.filter(grant__event=event).values_list('kind', flat=True)) == mail_kinds
        assert not OutgoingMail.objects.filter(event=event).exists()
        assert all(m.status is None for m in GrantMail.objects.filter(grant__event=event))

    untouched.refresh_from_db()
    assert (untouched.name, untouched.email) == ('Ada Lovelace', 'ada@example.org')


@pytest.mark.django_db
def test_one_grant_per_address_still_holds_after_shredding(event, make_grant):
    make_grant(name='Ada', email='ada@example.org', internal_note='x', travel_amount=Decimal('10.00'))
    make_grant(name='Bob', email='bob@example.org')
    event_over(event)
    run_shredder(event, ['pretix_grants'])
    with scopes_disabled():
        shredded = Grant.objects.filter(event=event).first()
        with pytest.raises(IntegrityError), transaction.atomic():
            Grant.objects.create(event=event, name='X', email=shredded.email.upper())
    # the address is free again for a new application
    with event_scope(event):  # as the application form creates it
        assert workflow.create_grant(event, name='Ada', email='ada@example.org', notify=False).pk


@pytest.mark.django_db
def test_shredding_twice_changes_nothing_more(event, grants_with_history):
    event_over(event)
    run_shredder(event, ['pretix_grants'])
    with scopes_disabled():
        rows = list(Grant.objects.filter(event=event).values())
    logs = list(LogEntry.objects.filter(event=event, content_type__model='grant').values('pk', 'data', 'shredded'))
    run_shredder(event, ['pretix_grants'])
    with scopes_disabled():
        assert list(Grant.objects.filter(event=event).values()) == rows
    assert list(LogEntry.objects.filter(event=event, content_type__model='grant').values(
        'pk', 'data', 'shredded')) == logs
