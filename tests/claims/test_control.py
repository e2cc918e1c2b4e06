"""The organizers' claim pages: the list and its totals, a claim with its receipts, decisions, settings."""
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django_scopes import scope, scopes_disabled
from i18nfield.strings import LazyI18nString
from pretix.base.models import LogEntry

from pretix_grants.claims import rules as claims
from pretix_grants.models import Claim, Grant

from ..control.conftest import url
from .conftest import jpeg_bytes, submitted_claim, upload


def organizers(event):
    """The claims' rules as the organizer's claim page runs them: in the organizer's scope."""
    return scope(organizer=event.organizer)


@scopes_disabled()
def refreshed(*objects):
    for o in objects:
        o.refresh_from_db()


@pytest.fixture
def two_claims(claim_grant, make_grant, past_event):
    ada = submitted_claim(claim_grant, '250.00', files=[upload(), upload('photo.jpg', jpeg_bytes())])
    grace = make_grant(Grant.STATUS_CONFIRMED, name='Grace Hopper', email='grace@example.org')
    g = submitted_claim(grace, '100.00')
    with organizers(past_event):
        claims.approve(g, Decimal('80.00'))
    djmail.outbox = []
    with scopes_disabled():
        return Claim.objects.get(pk=ada.pk), Claim.objects.get(pk=g.pk)


@pytest.mark.django_db
def test_the_list_shows_totals_against_the_budget_and_filters(two_claims, admin_client, past_event):
    past_event.settings.grants_budget = Decimal('5000.00')
    r = admin_client.get(url(past_event, 'claims/'))
    text = r.content.decode()
    assert r.status_code == 200
    assert 'id="total-granted">€800.00 (budget €5,000.00)' in text  # 300 + 200 and the default 300
    assert 'id="total-claimed">€350.00' in text
    assert 'id="total-approved">€80.00' in text
    assert 'id="total-paid">€0.00' in text
    assert 'Ada Lovelace' in text and 'Grace Hopper' in text
    text = admin_client.get(url(past_event, 'claims/?state=approved')).content.decode()
    assert 'Grace Hopper' in text and 'Ada Lovelace' not in text
    text = admin_client.get(url(past_event, 'claims/?category=accommodation')).content.decode()
    assert 'No claims yet.' in text
    nav = admin_client.get(url(past_event)).content.decode()
    assert 'Reimbursement claims' in nav


@pytest.mark.django_db
def test_the_claim_page_shows_receipts_images_inline_and_pdfs_as_links(two_claims, admin_client, past_event):
    ada, grace = two_claims
    text = admin_client.get(url(past_event, f'claims/{ada.pk}/')).content.decode()
    with scopes_disabled():
        pdf, jpg = sorted(ada.items.get(category='travel').receipts.all(), key=lambda r: r.content_type)
    assert f'<img src="{url(past_event, f"claims/{ada.pk}/receipt/{jpg.pk}/")}"' in text
    assert f'href="{url(past_event, f"claims/{ada.pk}/receipt/{pdf.pk}/")}" target="_blank"' in text
    assert 'DE89 3704 0044 0532 0130 00' in text  # in groups of four, as it is read out and typed
    r = admin_client.get(url(past_event, f'claims/{ada.pk}/receipt/{pdf.pk}/'))
    assert r['Content-Type'] == 'application/pdf' and r['Content-Disposition'].startswith('inline')
    # a receipt of another claim under this claim's URL
    assert admin_client.get(url(past_event, f'claims/{grace.pk}/receipt/{pdf.pk}/')).status_code == 404


@pytest.mark.django_db
def test_partial_approval_from_the_claim_page(two_claims, admin_client, past_event, user):
    ada, grace = two_claims
    r = admin_client.post(url(past_event, f'claims/{ada.pk}/'), {
        'decision': 'approve', 'amount': '200.00', 'message': 'Second class only.'})
    assert r.status_code == 302
    refreshed(ada)
    assert (ada.state, ada.approved_amount, ada.message) == (Claim.STATE_APPROVED, Decimal('200.00'),
                                                             'Second class only.')
    [mail] = djmail.outbox
    assert '€200.00' in mail.body and 'Second class only.' in mail.body
    with scopes_disabled():
        entry = LogEntry.objects.get(action_type='pretix_grants.claim.approved', object_id=ada.pk)
    assert entry.user == user and entry.parsed_data['approved'] == '200.00'
    text = admin_client.get(url(past_event, f'claims/{ada.pk}/')).content.decode()
    assert 'The reimbursement claim has been approved: 200.00 of 250.00.' in text
    assert 'id="claim-mark-paid"' in text


@pytest.mark.django_db
def test_more_than_claimed_or_changes_without_a_message_are_refused(two_claims, admin_client, past_event):
    ada, grace = two_claims
    r = admin_client.post(url(past_event, f'claims/{ada.pk}/'), {'decision': 'approve', 'amount': '250.01'})
    assert r.status_code == 200
    assert 'at most the amount claimed, €250.00' in r.content.decode()
    r = admin_client.post(url(past_event, f'claims/{ada.pk}/'), {'decision': 'request_changes', 'message': ''})
    assert 'Please tell the grantee what to change.' in r.content.decode()
    r = admin_client.post(url(past_event, f'claims/{ada.pk}/'), {'decision': 'reject', 'message': ''})
    assert 'Please give the grantee a reason.' in r.content.decode()
    refreshed(ada)
    assert ada.state == Claim.STATE_SUBMITTED and djmail.outbox == []


@pytest.mark.django_db
def test_request_changes_and_reject_from_the_claim_page(two_claims, admin_client, past_event, make_grant):
    ada, grace = two_claims
    admin_client.post(url(past_event, f'claims/{ada.pk}/'), {'decision': 'request_changes', 'message': 'Hotel?'})
    refreshed(ada)
    assert ada.state == Claim.STATE_CHANGES_REQUESTED
    assert 'Hotel?' in djmail.outbox[0].body
    other = submitted_claim(make_grant(Grant.STATUS_CONFIRMED, email='x@example.org'))
    admin_client.post(url(past_event, f'claims/{other.pk}/'), {'decision': 'reject', 'message': 'Too late.'})
    refreshed(other)
    assert other.state == Claim.STATE_REJECTED


@pytest.mark.django_db
def test_viewers_see_claims_but_cannot_decide_or_export(two_claims, client, viewer, past_event):
    ada, grace = two_claims
    client.force_login(viewer)
    text = client.get(url(past_event, f'claims/{ada.pk}/')).content.decode()
    assert 'id="claim-decide"' not in text
    assert client.post(url(past_event, f'claims/{ada.pk}/'), {'decision': 'approve'}).status_code == 404
    assert client.get(url(past_event, 'claims/export/')).status_code == 403
    assert client.post(url(past_event, 'claims/paid/'), {'claim': [grace.pk]}).status_code == 403
    refreshed(ada, grace)
    assert (ada.state, grace.state) == (Claim.STATE_SUBMITTED, Claim.STATE_APPROVED)


@pytest.mark.django_db
def test_bulk_mark_as_paid_from_the_list(two_claims, admin_client, past_event):
    ada, grace = two_claims
    r = admin_client.post(url(past_event, 'claims/paid/'), {'claim': [ada.pk, grace.pk]})
    assert r.status_code == 302
    refreshed(grace, ada)
    assert (ada.state, grace.state) == (Claim.STATE_SUBMITTED, Claim.STATE_PAID)
    assert [m.to for m in djmail.outbox] == [['grace@example.org']]


@pytest.mark.django_db
def test_the_claim_settings_page_saves_and_checks_the_account(admin_client, past_event):
    data = {'grants_claims_open': '', 'grants_claims_deadline': '', 'grants_claims_days': '45',
            'grants_claims_reminder_days': '5', 'grants_claims_require_checkin': 'on',
            'grants_payout_account_holder': 'PyConf e.V.', 'grants_payout_iban': 'de02 1203 0000 0000 2020 51',
            'grants_payout_bic': ''}
    r = admin_client.post(url(past_event, 'claims/settings/'), data)
    assert r.status_code == 302
    s = past_event.settings
    s.flush()
    assert s.grants_claims_days == 45 and s.grants_claims_require_checkin is True
    assert s.grants_payout_iban == 'DE02120300000000202051'
    r = admin_client.post(url(past_event, 'claims/settings/'), {**data, 'grants_payout_iban': 'DE00120300000000202051'})
    assert r.status_code == 200 and 'Not a valid IBAN' in r.content.decode()


@pytest.mark.django_db
def test_the_claim_mails_are_edited_and_previewed_with_the_other_grant_mails(admin_client, past_event):
    text = admin_client.get(url(past_event, 'settings/')).content.decode()
    for label in ('Claim submitted', 'Claim: changes requested', 'Claim approved', 'Claim rejected', 'Claim paid',
                  'Reminder to claim'):
        assert label in text
    r = admin_client.get(url(past_event, 'settings/preview/claim_approved/'))
    assert r.status_code == 200
    text = r.content.decode()
    assert 'Your reimbursement claim for PyConf 2027 has been approved' in text
    assert '€420.00' in text


@pytest.mark.django_db
def test_a_changed_claim_mail_template_is_the_one_sent(claim_grant, past_event):
    past_event.settings.grants_mail_claim_paid_subject = LazyI18nString({'en': 'Paid: {claim_approved_amount}'})
    c = submitted_claim(claim_grant, '100.00')
    with organizers(past_event):
        claims.approve(c)
    djmail.outbox = []
    with organizers(past_event):
        claims.mark_paid([c])
    assert [m.subject for m in djmail.outbox] == ['Paid: €100.00']


@pytest.mark.django_db
def test_no_claim_pages_where_the_plugin_is_off(two_claims, admin_client, past_event):
    ada, grace = two_claims
    with scopes_disabled():
        receipt = ada.items.get(category='travel').receipts.first()
    pages = ['claims/', 'claims/export/', 'claims/settings/', f'claims/{ada.pk}/',
             f'claims/{ada.pk}/receipt/{receipt.pk}/']
    assert all(admin_client.get(url(past_event, p)).status_code == 200 for p in pages)
    with scopes_disabled():
        past_event.plugins = ''
        past_event.save()
    for p in pages + ['claims/paid/']:
        r = admin_client.post(url(past_event, p), {'claim': [grace.pk], 'decision': 'approve'})
        assert r.status_code == 404, p
        assert 'The grants plugin is not enabled for this event.' in r.content.decode()
    refreshed(grace)
    assert grace.state == Claim.STATE_APPROVED
