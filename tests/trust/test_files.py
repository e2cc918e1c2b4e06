"""
Files live and die with their rows: a grant deleted through the API, a test-mode order pretix deletes, take their
receipts and letter PDFs from the storage; a storage error strands nothing, pretix's periodic job tries again.
"""
import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django_scopes import scope, scopes_disabled
from pretix.base.models import Order
from pretix.base.signals import periodic_task

from pretix_grants.letters import rules as letters
from pretix_grants.models import FileToDelete, LetterRequest, Receipt

from ..conftest import committed
from ..letters.conftest import letter_data


def stored(name):
    return bool(name) and default_storage.exists(name)


@pytest.fixture
def issued_letter(letter_event, payout_claims):
    grant = payout_claims[0].grant
    with scope(organizer=letter_event.organizer), committed():
        letter = letters.request_letter(letter_event, letter_data(), grant=grant)
        letters.approve(letter)
    with scopes_disabled():
        letter.refresh_from_db()
    assert stored(letter.pdf)
    return letter


@pytest.mark.django_db
def test_deleting_a_grant_deletes_its_receipts_and_letters_from_the_storage(payout_claims, issued_letter, api):
    claim = payout_claims[0]
    with scopes_disabled():
        receipts = [r.file.name for r in Receipt.objects.filter(item__claim=claim)]
    assert receipts and all(stored(n) for n in receipts)
    with committed():
        r = api.delete(f'/api/v1/organizers/pyconf/events/2027/grants/{claim.grant_id}/')
    assert r.status_code == 204
    assert not any(stored(n) for n in receipts) and not stored(issued_letter.pdf)


@pytest.mark.django_db(transaction=True)
def test_pretix_deleting_a_test_mode_order_deletes_its_letter(letter_event, ticket_order):
    with scopes_disabled():
        Order.objects.filter(pk=ticket_order.pk).update(testmode=True)
        ticket_order.refresh_from_db()
    with scope(organizer=letter_event.organizer):
        letter = letters.request_letter(letter_event, letter_data(), order=ticket_order)
        letters.approve(letter)
        letter.refresh_from_db()
        assert stored(letter.pdf)
        with transaction.atomic():  # as pretix's order deletion view runs it
            ticket_order.gracefully_delete()
    with scopes_disabled():
        assert not LetterRequest.objects.exists()
    assert not stored(letter.pdf)


@pytest.mark.django_db
def test_a_storage_error_strands_no_other_file_and_is_retried(payout_claims, issued_letter, api, monkeypatch):
    with scopes_disabled():
        names = [r.file.name for r in Receipt.objects.all()]
    stuck = names[0]
    storage_class = type(default_storage._wrapped)
    real_delete = storage_class.delete

    def failing(storage, name):
        if name == stuck:
            raise OSError('the storage is unavailable')
        return real_delete(storage, name)

    monkeypatch.setattr(storage_class, 'delete', failing)
    with committed():
        for c in payout_claims:
            api.delete(f'/api/v1/organizers/pyconf/events/2027/grants/{c.grant_id}/')
    assert stored(stuck) and not any(stored(n) for n in names[1:]) and not stored(issued_letter.pdf)
    assert list(FileToDelete.objects.values_list('name', flat=True)) == [stuck]

    monkeypatch.undo()  # the storage is back
    results = periodic_task.send_robust(sender=None)
    [mine] = [r for receiver, r in results if receiver.__name__ == 'retry_file_deletion']
    assert not isinstance(mine, Exception)
    assert not stored(stuck) and not FileToDelete.objects.exists()
