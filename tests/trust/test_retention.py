"""
Retention without anyone remembering: pretix's cron (``periodic_task`` with no scope, as ``runperiodic`` sends it)
erases IBANs, payout details and receipts ``grants_retention_days`` after the claim deadline and passport data and
letters that long after the event, through the shredders' own erasure, and logs it as counts.
"""
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.test import Client
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry
from pretix.base.signals import periodic_task

from pretix_grants.claims import payouts as claim_payouts
from pretix_grants.letters import rules as letters
from pretix_grants.models import Claim, LetterRequest, PayoutBatch, Receipt

from ..claims.conftest import IBAN
from ..conftest import committed
from ..control.conftest import form_data, url
from ..letters.conftest import letter_data
from .conftest import AT_IBAN

pytestmark = pytest.mark.django_db


def cron():
    """One ``runperiodic``: every receiver due (pretix's minimum_interval), no scope active; none may fail."""
    cache.clear()
    with committed():
        results = periodic_task.send_robust(sender=None)
    failed = {f'{r.__module__}.{r.__name__}': v for r, v in results
              if r.__module__.startswith('pretix_grants') and isinstance(v, Exception)}
    assert failed == {}


def claim_deadline_ago(event, days):
    event.settings.grants_claims_deadline = now() - timedelta(days=days)


def receipt_files(claim):
    with scopes_disabled():
        return [r.file.name for r in Receipt.objects.filter(item__claim=claim)]


def erasure_logs(event, action):
    with scopes_disabled():
        return list(LogEntry.objects.filter(event=event, action_type=action))


@pytest.fixture
def paid_and_unpaid(payout_claims, past_event):
    """Ada's claim paid through a payout batch; Grace's approved, waiting for its money; Cahit's approved too."""
    ada, grace, cahit = payout_claims
    with scope(organizer=past_event.organizer), committed():
        batch, left_out = claim_payouts.create_batch(past_event, 'sepa', [ada.pk])
        claim_payouts.mark_paid(batch)
    return ada, grace, batch


def test_payout_details_and_receipts_of_settled_claims_go_after_the_retention_period(paid_and_unpaid, past_event):
    ada, grace, batch = paid_and_unpaid
    ada_files, grace_files = receipt_files(ada), receipt_files(grace)
    assert ada_files and all(default_storage.exists(n) for n in ada_files)
    claim_deadline_ago(past_event, 91)  # the default: 90 days

    cron()

    with scopes_disabled():
        ada, grace, batch = Claim.objects.get(pk=ada.pk), Claim.objects.get(pk=grace.pk), PayoutBatch.objects.get(
            pk=batch.pk)
    assert (ada.state, ada.account_holder, ada.iban, ada.bic, ada.payout_other) == (Claim.STATE_PAID, '', '', '', '')
    assert str(ada.approved_amount) == '240.50'  # the accounts still add up
    assert receipt_files(ada) == [] and not any(default_storage.exists(n) for n in ada_files)
    assert bytes(batch.content) == b'' and str(batch.total) == '240.50'
    # Grace's claim waits for its money: the treasurer still needs her IBAN and receipt
    assert grace.iban == AT_IBAN and receipt_files(grace) == grace_files
    [entry] = erasure_logs(past_event, 'pretix_grants.claim.retention_erased')
    assert entry.parsed_data == {'claims': 1, 'receipts': 1}
    assert str(entry.display()) == ('The retention period is over: payout details and receipts have been erased '
                                    '(claims: 1, receipts: 1).')
    assert IBAN not in entry.data and 'Ada' not in entry.data

    # once Grace is paid, the next run takes hers too; a run with nothing left logs nothing
    with scope(organizer=past_event.organizer), committed():
        claim_payouts.mark_paid(claim_payouts.create_batch(past_event, 'sepa', [grace.pk])[0])
    cron()
    cron()
    with scopes_disabled():
        assert Claim.objects.get(pk=grace.pk).iban == ''
    assert receipt_files(grace) == []
    assert [e.parsed_data for e in erasure_logs(past_event, 'pretix_grants.claim.retention_erased')] == [
        {'claims': 1, 'receipts': 1}, {'claims': 1, 'receipts': 1}]


def test_nothing_goes_before_the_retention_period_ends(paid_and_unpaid, past_event):
    ada, grace, batch = paid_and_unpaid
    claim_deadline_ago(past_event, 89)
    cron()
    with scopes_disabled():
        assert Claim.objects.get(pk=ada.pk).iban == IBAN
        assert bytes(PayoutBatch.objects.get(pk=batch.pk).content)
    assert receipt_files(ada)
    assert erasure_logs(past_event, 'pretix_grants.claim.retention_erased') == []


def test_the_period_is_the_organizers_setting(paid_and_unpaid, past_event):
    ada, grace, batch = paid_and_unpaid
    past_event.settings.grants_retention_days = 10
    claim_deadline_ago(past_event, 11)
    cron()
    with scopes_disabled():
        assert Claim.objects.get(pk=ada.pk).iban == ''


@pytest.fixture
def issued_letter(letter_event, grantee):
    with scope(organizer=letter_event.organizer), committed():
        data = letter_data(passport_number='PZ1112223', date_of_birth=date(1987, 6, 5))
        letter = letters.request_letter(letter_event, data, grant=grantee, email='lukasz@example.org')
        letters.approve(letter)
    with scopes_disabled():
        return LetterRequest.objects.get(pk=letter.pk)


def event_ended_ago(event, days):
    event.date_from = now() - timedelta(days=days + 2)
    event.date_to = now() - timedelta(days=days)
    event.save()


def verify(letter):
    return Client().get(f'/pyconf/2027/letters/verify/{letter.reference}/').content.decode()


def test_passport_data_and_letters_go_after_the_retention_period(issued_letter, letter_event):
    pdf = issued_letter.pdf
    assert pdf and default_storage.exists(pdf)
    event_ended_ago(letter_event, 89)
    cron()
    with scopes_disabled():
        assert LetterRequest.objects.get(pk=issued_letter.pk).passport_number == 'PZ1112223'
    assert 'This letter is valid.' in verify(issued_letter)

    event_ended_ago(letter_event, 91)
    cron()

    with scopes_disabled():
        letter = LetterRequest.objects.get(pk=issued_letter.pk)
    assert letter.shredded and (letter.passport_number, letter.date_of_birth, letter.address, letter.pdf) == (
        '', None, '', '')
    assert not default_storage.exists(pdf)
    assert 'This letter is valid.' not in verify(letter) and 'not valid' in verify(letter)
    [entry] = erasure_logs(letter_event, 'pretix_grants.letter.retention_erased')
    assert entry.parsed_data == {'letters': 1}
    assert 'PZ1112223' not in entry.data
    assert str(entry.display()) == ('The retention period is over: passport data and invitation letters have been '
                                    'erased (requests: 1).')
    cron()
    assert len(erasure_logs(letter_event, 'pretix_grants.letter.retention_erased')) == 1


@pytest.mark.parametrize('value, error', [('-1', True), ('3651', True), ('1e3', True), ('', True), ('30', False)])
def test_the_setting_is_on_the_settings_page_and_bounded(manager_client, event, grant_settings, value, error):
    data = form_data(manager_client.get(url(event, 'settings/')))
    assert data['grants_retention_days'] == '90'
    r = manager_client.post(url(event, 'settings/'), {**data, 'grants_retention_days': value})
    if error:
        assert r.status_code == 200 and 'grants_retention_days' in r.context['form'].errors
        assert event.settings.get('grants_retention_days', as_type=int) == 90
    else:
        assert r.status_code == 302
        event.settings.flush()
        assert event.settings.get('grants_retention_days', as_type=int) == 30
