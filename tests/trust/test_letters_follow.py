"""
Letters follow the grant: a declined, cancelled or expired grant and a cancelled order withdraw their letters (logged,
the verification page says "not valid"); automatic approval only where the letter's name is the grant's.
"""
import pytest
from django.test import Client
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry
from pretix.base.services.orders import cancel_order

from pretix_grants import workflow
from pretix_grants.letters import rules as letters
from pretix_grants.models import Grant, LetterRequest

from ..conftest import committed
from ..letters.conftest import letter_data


def verify(letter):
    return Client().get(f'/pyconf/2027/letters/verify/{letter.reference}/').content.decode()


def issued(event, **owner):
    with scope(organizer=event.organizer):
        letter = letters.request_letter(event, letter_data(full_name='Lukasz Zolc'), **owner)
        letters.approve(letter)
    assert 'This letter is valid.' in verify(letter)
    return letter


def reread(letter):
    with scopes_disabled():
        return LetterRequest.objects.get(pk=letter.pk)


@pytest.mark.django_db
@pytest.mark.parametrize('end', ['refuse', 'cancel'])
def test_a_grant_that_ends_withdraws_its_letter(end, letter_event, grantee):
    letter = issued(letter_event, grant=grantee)
    with scope(organizer=letter_event.organizer), committed():
        if end == 'refuse':
            workflow.refuse(grantee)
        else:
            workflow.cancel(grantee)
    assert reread(letter).status == LetterRequest.STATUS_CANCELLED
    assert 'not valid' in verify(letter) and 'This letter is valid.' not in verify(letter)
    with scopes_disabled():
        assert LogEntry.objects.filter(action_type='pretix_grants.letter.cancelled', object_id=letter.pk).exists()


@pytest.mark.django_db
def test_a_cancelled_order_withdraws_its_letter(letter_event, ticket_order):
    letter = issued(letter_event, order=ticket_order)
    cancel_order(ticket_order.pk)
    assert reread(letter).status == LetterRequest.STATUS_CANCELLED
    assert 'not valid' in verify(letter)


@pytest.mark.django_db
def test_automatic_approval_only_for_the_grants_own_name(letter_event, make_grant):
    letter_event.settings.grants_letters_auto_approve = True
    ada = make_grant(Grant.STATUS_CONFIRMED, name='Łukasz Żółć', email='lz@example.org')
    other = make_grant(Grant.STATUS_CONFIRMED, name='Grace Hopper', email='gh@example.org')
    with scope(organizer=letter_event.organizer):
        same = letters.request_letter(letter_event, letter_data(full_name='ZOLC Lukasz'), grant=ada)
        stranger = letters.request_letter(letter_event, letter_data(full_name='Mallory Eve'), grant=other)
    assert reread(same).status == LetterRequest.STATUS_APPROVED
    assert reread(stranger).status == LetterRequest.STATUS_REQUESTED, 'waits for an organizer'


@pytest.mark.django_db
def test_shredded_letters_no_longer_verify(letter_event, grantee):
    letter = issued(letter_event, grant=grantee)
    with scope(organizer=letter_event.organizer):
        letters.shred([reread(letter)])
    page = verify(letter)
    assert 'This letter is valid.' not in page and 'Lukasz' not in page
    assert reread(letter).email.endswith('@shredded.invalid')
