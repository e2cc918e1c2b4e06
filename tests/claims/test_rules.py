"""
The grantee's reimbursement claim on their page: draft, submit, the amounts and dates it refuses, the attendance rule,
the organizers' answers, and the mail at every step (in pretix's outbox).
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import Event, LogEntry

from pretix_grants.claims import payouts as claim_payouts, rules as claims
from pretix_grants.models import Claim, Grant, GrantMail, Receipt

from ..conftest import committed, mails_to
from .conftest import (
    IBAN, claim_url, form, jpeg_bytes, receipt_files, reply_url, upload,
)


def post(grant, data, files=None):
    payload = dict(data)
    for key, value in (files or {}).items():
        payload[key] = value
    return Client().post(claim_url(grant), payload)


def page_text(response):
    return response.content.decode()


def organizers(event):
    """The claims' rules as the organizer's control panel runs them: in the organizer's scope."""
    return scope(organizer=event.organizer)


@scopes_disabled()
def the_claim(**filters):
    return Claim.objects.get(**filters)


@scopes_disabled()
def no_claim_and_no_receipt():
    return not Claim.objects.exists() and not Receipt.objects.exists()


@scopes_disabled()
def save(obj):
    obj.save()


@scopes_disabled()
def claim_log(claim):
    return list(LogEntry.objects.filter(action_type__startswith='pretix_grants.claim.', object_id=claim.pk)
                .order_by('pk').values_list('action_type', flat=True))


@pytest.mark.django_db
def test_the_reply_page_invites_to_claim_once_claims_are_open(claim_grant):
    r = Client().get(reply_url(claim_grant))
    assert 'Your reimbursement' in page_text(r)
    assert 'Claim your reimbursement' in page_text(r)
    assert claim_url(claim_grant) in page_text(r)


@pytest.mark.django_db
def test_before_the_event_the_reply_page_says_when_claims_open(claim_grant, past_event):
    past_event.date_from = now() + timedelta(days=10)
    past_event.date_to = now() + timedelta(days=12)
    save(past_event)
    r = Client().get(reply_url(claim_grant))
    assert 'Claims open on' in page_text(r)
    assert 'id="claim-link"' not in page_text(r)


@pytest.mark.django_db
def test_a_draft_is_saved_with_its_receipt_and_nothing_is_mailed(claim_grant):
    r = post(claim_grant, form('save'), {'travel_receipts': upload('train.pdf')})
    assert r.status_code == 302
    claim = the_claim(grant=claim_grant)
    assert claim.state == Claim.STATE_DRAFT
    assert claim.iban == IBAN
    with scopes_disabled():
        [item] = [i for i in claim.items.all() if i.amount]
        [receipt] = Receipt.objects.filter(item=item)
    assert (item.category, item.amount) == ('travel', Decimal('250.00'))
    assert receipt.content_type == 'application/pdf' and receipt.original_name == 'train.pdf'
    assert default_storage.exists(receipt.file.name)
    assert receipt.file.name.startswith('cachedfiles/pretix_grants/receipts/pyconf/2027/')
    assert 'train' not in receipt.file.name
    assert mails_to('ada@example.org') == []
    page = Client().get(claim_url(claim_grant))
    assert 'Your claim is a draft' in page_text(page)
    assert 'train.pdf' in page_text(page)


@pytest.mark.django_db
def test_submitting_sends_the_confirmation_and_logs_without_payout_details(claim_grant):
    r = post(claim_grant, form('submit'), {'travel_receipts': upload('train.pdf')})
    assert r.status_code == 302
    claim = the_claim(grant=claim_grant)
    assert claim.state == Claim.STATE_SUBMITTED and claim.submitted_at
    [mail] = mails_to('ada@example.org')
    assert mail.subject == 'We received your reimbursement claim for PyConf 2027'
    assert '€250.00' in mail.body
    assert claim_url(claim_grant) in mail.body
    assert IBAN not in mail.body and 'train.pdf' not in mail.body
    assert claim_log(claim) == ['pretix_grants.claim.saved', 'pretix_grants.claim.submitted']
    with scopes_disabled():
        for le in LogEntry.objects.all():
            assert IBAN not in (le.data or '') and 'train' not in (le.data or '')
    page = Client().get(claim_url(claim_grant))
    assert 'Your claim has been submitted' in page_text(page)
    assert 'name="claim_step"' not in page_text(page), 'a submitted claim can no longer be edited'


@pytest.mark.django_db
def test_submitting_needs_a_receipt_a_description_and_the_payout_details(claim_grant):
    r = post(claim_grant, form('submit', travel_description='', account_holder='', iban=''))
    assert r.status_code == 200
    text = page_text(r)
    assert 'Please describe what you claim.' in text
    assert 'Please add at least one receipt.' in text
    assert 'Please enter the name of the account holder.' in text
    assert 'Please enter your IBAN.' in text
    assert no_claim_and_no_receipt()
    assert mails_to('ada@example.org') == []


@pytest.mark.django_db
def test_over_claiming_a_category_is_refused_and_nothing_is_saved(claim_grant):
    before = receipt_files()
    r = post(claim_grant, form('submit', travel_amount='300.01', accommodation_amount='150.00',
                               accommodation_description='Hostel, 2 nights'),
             {'travel_receipts': upload('train.pdf'),
              'accommodation_receipts': upload('hostel.jpg', jpeg_bytes(), 'image/jpeg')})
    assert r.status_code == 200
    assert 'Travel: you can claim at most €300.00.' in page_text(r)
    assert no_claim_and_no_receipt()
    assert receipt_files() == before, 'no file left on storage'
    assert mails_to('ada@example.org') == []


@pytest.mark.django_db
def test_after_the_deadline_nothing_is_saved(claim_grant, past_event):
    past_event.date_from = now() - timedelta(days=40)
    past_event.date_to = now() - timedelta(days=38)
    save(past_event)
    page = Client().get(claim_url(claim_grant))
    assert 'The deadline for claims' in page_text(page)
    assert 'name="claim_step"' not in page_text(page)
    r = post(claim_grant, form('submit'), {'travel_receipts': upload()})
    assert r.status_code == 302
    follow = Client().get(r['Location'])
    assert follow.status_code == 200
    assert no_claim_and_no_receipt()
    assert mails_to('ada@example.org') == []


@pytest.mark.django_db
def test_a_deadline_set_in_the_settings_is_the_deadline(claim_grant, past_event):
    past_event.settings.grants_claims_deadline = now() - timedelta(hours=1)
    r = post(claim_grant, form('save'))
    assert r.status_code == 302
    assert no_claim_and_no_receipt()


@pytest.mark.django_db
def test_before_the_opening_nothing_is_saved(claim_grant, past_event):
    past_event.settings.grants_claims_open = now() + timedelta(days=2)
    page = Client().get(claim_url(claim_grant))
    assert 'Claims open on' in page_text(page)
    assert 'name="claim_step"' not in page_text(page)
    r = post(claim_grant, form('save'), {'travel_receipts': upload()})
    assert r.status_code == 302
    assert no_claim_and_no_receipt()


@pytest.mark.django_db
def test_a_grant_without_amounts_or_not_confirmed_has_no_claim_page(make_grant, past_event, grant_settings):
    ticket_only = make_grant(Grant.STATUS_CONFIRMED, travel_amount=Decimal('0.00'))
    offered = make_grant(Grant.STATUS_APPROVED)
    for g in (ticket_only, offered):
        assert Client().get(claim_url(g)).status_code == 404
        assert Client().post(claim_url(g), form('submit')).status_code == 404
        assert 'Your reimbursement' not in page_text(Client().get(reply_url(g)))
    assert no_claim_and_no_receipt()


@pytest.mark.django_db
def test_attendance_rule_not_checked_in_can_save_but_not_submit(claim_grant, past_event):
    past_event.settings.grants_claims_require_checkin = True
    page = Client().get(claim_url(claim_grant))
    assert 'once your ticket has been checked in' in page_text(page)
    assert 'value="submit"' not in page_text(page)
    r = post(claim_grant, form('submit'), {'travel_receipts': upload()})
    assert r.status_code == 302
    assert no_claim_and_no_receipt(), 'a refused submission saves nothing'
    r = post(claim_grant, form('save'), {'travel_receipts': upload()})
    assert the_claim().state == Claim.STATE_DRAFT
    assert mails_to('ada@example.org') == []


@pytest.mark.django_db
def test_attendance_rule_checked_in_submits(claim_grant, past_event):
    past_event.settings.grants_claims_require_checkin = True
    claim_grant.checked_in_at = past_event.date_from + timedelta(hours=1)
    save(claim_grant)
    page = Client().get(claim_url(claim_grant))
    assert 'value="submit"' in page_text(page)
    post(claim_grant, form('submit'), {'travel_receipts': upload()})
    assert the_claim().state == Claim.STATE_SUBMITTED


@pytest.mark.django_db
def test_changes_requested_then_resubmitted_then_approved_in_part_then_paid(claim_grant, past_event):
    post(claim_grant, form('submit'), {'travel_receipts': upload('train.pdf')})
    claim = the_claim()
    djmail.outbox = []

    with organizers(past_event):
        claims.request_changes(claim, 'Please add the receipt of your return journey.')
    [mail] = mails_to('ada@example.org')
    assert mail.subject == 'Your reimbursement claim for PyConf 2027: please make changes'
    assert 'Please add the receipt of your return journey.' in mail.body
    page = Client().get(claim_url(claim_grant))
    assert 'Please change your claim' in page_text(page)
    assert 'Please add the receipt of your return journey.' in page_text(page)

    # the grantee may answer also after the deadline
    past_event.settings.grants_claims_deadline = now() - timedelta(hours=1)
    djmail.outbox = []
    r = post(claim_grant, form('submit', travel_amount='280.00'), {'travel_receipts': upload('return.pdf')})
    assert r.status_code == 302
    with scopes_disabled():
        claim.refresh_from_db()
        assert Receipt.objects.filter(item__claim=claim).count() == 2
        assert claim.claimed_amount == Decimal('280.00')
    assert claim.state == Claim.STATE_SUBMITTED
    assert [m.subject for m in mails_to('ada@example.org')] == ['We received your reimbursement claim for PyConf 2027']

    djmail.outbox = []
    with organizers(past_event):
        claims.approve(claim, Decimal('240.00'), 'The return ticket was first class; we pay second class.')
    with scopes_disabled():
        claim.refresh_from_db()
    assert (claim.state, claim.approved_amount) == (Claim.STATE_APPROVED, Decimal('240.00'))
    [mail] = mails_to('ada@example.org')
    assert mail.subject == 'Your reimbursement claim for PyConf 2027 has been approved'
    assert '€240.00' in mail.body and 'we pay second class' in mail.body
    page = Client().get(claim_url(claim_grant))
    assert 'Your claim has been approved' in page_text(page)
    assert '€240.00' in page_text(page)

    djmail.outbox = []
    with organizers(past_event):
        claims.mark_paid([claim])
    with scopes_disabled():
        claim.refresh_from_db()
    assert claim.state == Claim.STATE_PAID and claim.paid_at
    [mail] = mails_to('ada@example.org')
    assert mail.subject == 'Your reimbursement for PyConf 2027 is on its way'
    assert '€240.00' in mail.body
    assert 'Your reimbursement has been paid' in page_text(Client().get(claim_url(claim_grant)))
    # each mail is pretix's own outgoing mail, recorded on the grant
    with scopes_disabled():
        records = list(GrantMail.objects.filter(grant=claim_grant, kind='claim').select_related('outgoing_mail'))
    assert [r.outgoing_mail.subject for r in records] == [
        'We received your reimbursement claim for PyConf 2027',
        'Your reimbursement claim for PyConf 2027: please make changes',
        'We received your reimbursement claim for PyConf 2027',
        'Your reimbursement claim for PyConf 2027 has been approved',
        'Your reimbursement for PyConf 2027 is on its way',
    ]
    assert all(r.outgoing_mail.to == ['ada@example.org'] and IBAN not in r.outgoing_mail.body_plain for r in records)
    assert [a for a in claim_log(claim) if a != 'pretix_grants.claim.saved'] == [
        'pretix_grants.claim.submitted', 'pretix_grants.claim.changes_requested', 'pretix_grants.claim.submitted',
        'pretix_grants.claim.approved', 'pretix_grants.claim.paid']


@pytest.mark.django_db
def test_rejection_mails_the_reason(claim_grant):
    post(claim_grant, form('submit'), {'travel_receipts': upload()})
    claim = the_claim()
    djmail.outbox = []
    with organizers(claim_grant.event):
        claims.reject(claim, 'The receipts are from another year.')
    [mail] = mails_to('ada@example.org')
    assert mail.subject == 'Your reimbursement claim for PyConf 2027'
    assert 'The receipts are from another year.' in mail.body
    assert 'Your claim has been rejected' in page_text(Client().get(claim_url(claim_grant)))


@pytest.mark.django_db
def test_the_state_table_refuses_what_it_does_not_allow(claim_grant):
    post(claim_grant, form('submit'), {'travel_receipts': upload()})
    claim = the_claim()
    with organizers(claim_grant.event):
        assert claims.mark_paid([claim]) == [], 'only approved claims are paid'
        with pytest.raises(claims.ClaimError):
            claims.change_state(claim, Claim.STATE_PAID, actor=claims.ORGANIZER)
        with pytest.raises(claims.ClaimError):
            claims.change_state(claim, Claim.STATE_APPROVED, actor=claims.GRANTEE)
        with pytest.raises(claims.ClaimError):
            claims.approve(claim, Decimal('250.01'))
        with pytest.raises(claims.ClaimError):
            claims.request_changes(claim, '  ')
    with scopes_disabled():
        claim.refresh_from_db()
    assert claim.state == Claim.STATE_SUBMITTED


@pytest.mark.django_db
def test_a_reminder_goes_before_the_deadline_to_those_who_have_not_claimed(claim_grant, past_event, make_grant):
    claimed = make_grant(Grant.STATUS_CONFIRMED, name='Grace Hopper', email='grace@example.org')
    post(claimed, form('submit'), {'travel_receipts': upload()})
    djmail.outbox = []
    # claims.send_reminders with no scope active, as pretix's periodic task runs it
    assert claims.send_reminders() == 0, 'not yet within the reminder days'
    past_event.settings.grants_claims_deadline = now() + timedelta(days=3)
    assert claims.send_reminders() == 1
    [mail] = djmail.outbox
    assert mail.to == ['ada@example.org']
    assert mail.subject == 'Reminder: claim your reimbursement for PyConf 2027'
    assert claim_url(claim_grant) in mail.body
    assert claims.send_reminders() == 0, 'once'


@pytest.mark.django_db
def test_the_demo_has_a_past_event_with_a_submitted_claim_and_receipts(capsys):
    with committed():  # a shell's command: no scope
        call_command('grants_demo')
    with scopes_disabled():
        past = Event.objects.get(organizer__slug='democon', slug='2026')
        assert past.date_to < now()
        submitted = Claim.objects.get(grant__event=past, state=Claim.STATE_SUBMITTED)
        receipts = list(Receipt.objects.filter(item__claim=submitted))
        assert {r.content_type for r in receipts} == {'image/jpeg', 'application/pdf'}
        assert all(default_storage.exists(r.file.name) for r in receipts)
        assert Claim.objects.filter(grant__event=past, state=Claim.STATE_APPROVED).count() == 1
    with organizers(past):  # the payout page
        batch, left_out = claim_payouts.create_batch(past, 'sepa', claims.payable(past).values_list('pk', flat=True))
    assert bytes(batch.content).startswith(b'<?xml') and left_out == []
    assert f'/democon/2026/grant/{submitted.grant.secret}/claim/' in capsys.readouterr().out
    with committed():
        call_command('grants_demo')
    with scopes_disabled():
        assert Claim.objects.filter(grant__event=past).count() == 2


@pytest.mark.django_db
def test_no_claim_page_or_receipt_where_the_plugin_is_off(claim_grant, past_event):
    Client().post(claim_url(claim_grant), {**form('save'), 'travel_receipts': upload()})
    with scopes_disabled():
        receipt = Receipt.objects.get()
    past_event.plugins = ''
    save(past_event)
    assert Client().get(claim_url(claim_grant)).status_code == 404
    assert Client().get(f'{claim_url(claim_grant)}receipt/{receipt.pk}/').status_code == 404
