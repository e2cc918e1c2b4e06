"""
Erasure is complete, and proven: every personal value the plugin stores is seeded, pretix's shredders for the event
run, then every table of the plugin, pretix's LogEntry.data, OutgoingMail rows and the storage are scanned for each
value.
"""
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, OutgoingMail, User
from pretix.base.signals import periodic_task

from pretix_grants import mails, workflow
from pretix_grants.claims import payouts as claim_payouts
from pretix_grants.letters import rules as letters
from pretix_grants.models import Grant, Review

from ..claims.conftest import IBAN
from ..conftest import committed
from ..letters.conftest import letter_data
from ..test_shredder import run_shredder

SECRETS = {
    'name': 'Ada Lovelace', 'email': 'ada@example.org', 'motivation': 'Zyzzyva motivation of mine',
    'justification': 'Quokka train fare', 'answer': 'Wombat dietary answer', 'note': 'Axolotl reviewer note',
    'iban': IBAN, 'passport': 'PZ7654321', 'address': 'Marzipanweg 77', 'consulate': 'Embassy Narwhal Street',
    'birth': '1987-06-05', 'letter_email': 'ada-letters@example.org',
}


def files_under(path):
    found, todo = [], [path]
    while todo:
        p = todo.pop()
        if not default_storage.exists(p):
            continue
        dirs, names = default_storage.listdir(p)
        found += [f'{p}/{n}' for n in names]
        todo += [f'{p}/{d}' for d in dirs]
    return found


def plugin_rows():
    """Every value of every row of every table of the plugin, as text."""
    out = []
    for model in apps.get_app_config('pretix_grants').get_models():
        for row in model._base_manager.all():
            for f in model._meta.concrete_fields:
                v = getattr(row, f.attname)
                out.append(bytes(v).decode('utf-8', 'replace') if isinstance(v, (bytes, memoryview)) else str(v))
    return '\n'.join(out)


@pytest.fixture
def files_before():
    """The files earlier tests left on the test storage (it outlives their databases): not this test's."""
    return files_under('cachedfiles/pretix_grants')


@pytest.fixture
def seeded(files_before, payout_claims, past_event, letter_event):
    """Every personal value the plugin stores, through its own flows; returns the receipt files and the batch."""
    ada = payout_claims[0]
    with scopes_disabled():
        grant = Grant.objects.get(pk=ada.grant_id)
        Grant.objects.filter(pk=grant.pk).update(motivation=SECRETS['motivation'],
                                                 justification=SECRETS['justification'],
                                                 answers={'diet': SECRETS['answer']})
        reviewer = User.objects.create_user('rev@example.org', 'x')
        Review.objects.create(grant=grant, user=reviewer, score=4, note=SECRETS['note'])
        # the mail sweeper's entry names a mail's subject (with the grantee's name in it)
        grant.log_action(mails.RESENT, data={'subject': f'Your grant, {SECRETS["name"]}', 'outgoing_mail': 1})
    with scope(organizer=past_event.organizer), committed():
        letter = letters.request_letter(letter_event, letter_data(
            full_name='Ada Lovelace', passport_number=SECRETS['passport'], address=SECRETS['address'],
            consulate=SECRETS['consulate'], date_of_birth=date(1987, 6, 5)),
            grant=grant, email=SECRETS['letter_email'])
        letters.approve(letter)
        batch, left_out = claim_payouts.create_batch(past_event, 'csv', [c.pk for c in payout_claims])
        workflow.change_fields(grant, {'motivation': SECRETS['motivation'] + ' (edited)'})
    receipts = set(files_under('cachedfiles/pretix_grants')) - set(files_before)
    assert receipts
    return receipts, batch


def assert_gone(event, keys, receipts):
    rows = plugin_rows()
    with scopes_disabled():
        logs = '\n'.join(LogEntry.objects.filter(event=event).values_list('data', flat=True))
        outbox = '\n'.join(str([m.to, m.subject, m.body_plain, m.body_html]) for m in OutgoingMail.objects.all())
    stored = files_under('cachedfiles/pretix_grants')
    contents = ''.join(default_storage.open(n).read().decode('latin-1') for n in stored)
    for key in keys:
        value = SECRETS[key]
        assert value not in rows, f'{key} in the plugin\'s tables'
        assert value not in logs, f'{key} in the log'
        assert value not in outbox, f'{key} in the outgoing mails'
        assert value not in contents, f'{key} in a stored file'
    assert not set(receipts) & set(stored)


@pytest.mark.django_db
def test_every_personal_value_is_gone_after_the_shredders(seeded, past_event):
    receipts, batch = seeded
    past_event.live = False
    past_event.save()
    with committed():
        run_shredder(past_event, ['pretix_grants', 'pretix_grants_claims', 'pretix_grants_letters'])
    assert_gone(past_event, SECRETS, receipts)


# what the retention rule erases (retention.py): passport data, birth dates, IBANs, payout details, receipts, letters
SENSITIVE = ('iban', 'passport', 'address', 'consulate', 'birth', 'letter_email')


@pytest.mark.django_db
def test_every_sensitive_value_is_gone_after_the_retention_period(seeded, past_event):
    receipts, batch = seeded
    with scope(organizer=past_event.organizer), committed():
        claim_payouts.mark_paid(batch)
    # the event ended and the claim deadline passed more than the 90 days of grants_retention_days ago
    past_event.date_from, past_event.date_to = now() - timedelta(days=200), now() - timedelta(days=199)
    past_event.save()
    past_event.settings.grants_claims_deadline = now() - timedelta(days=91)
    cache.clear()  # pretix's minimum_interval: every periodic receiver is due
    with committed():
        results = periodic_task.send_robust(sender=None)  # as runperiodic sends it: no scope
    assert not [v for r, v in results if r.__module__.startswith('pretix_grants') and isinstance(v, Exception)]
    assert_gone(past_event, SENSITIVE, receipts)
    # what the retention rule keeps until the shredder runs
    assert SECRETS['name'] in plugin_rows()
