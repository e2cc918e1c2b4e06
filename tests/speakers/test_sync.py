"""The sync against a real pretalx: vouchers and mails in pretix, by what pretalx says, through the page's buttons."""
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, Voucher
from pretix.base.signals import periodic_task

from pretix_grants.models import Speaker
from pretix_grants.speakers import rules, signals as speaker_signals
from pretix_grants.speakers.shredder import SpeakerShredder

from ..checkout import Shop
from ..control.conftest import form_data
from .helpers import PAIR, SOLO, TRIO, press, snapshot, speaker, url

pytestmark = pytest.mark.django_db


def failures(results):
    """The exceptions the speaker sync's cron receiver returned."""
    return [r for receiver, r in results if receiver is speaker_signals.sync_speakers and isinstance(r, Exception)]


def buys(shop, item, voucher):
    total, r = shop.order(voucher.code, item)
    return total


def test_first_sync_issues_the_right_vouchers_and_mails(manager_client, connected, pretalx, item):
    event = connected
    r = press(manager_client, event, 'sync')
    assert 'Sync done: 7 vouchers issued' in r.content.decode()
    shop = Shop(event)
    with scopes_disabled():
        # main speakers: a free ticket, exactly one; speaker 1 has two talks and one voucher
        for n in (1, 2, 7):
            sp = speaker(event, pretalx, n)
            assert sp.role == Speaker.ROLE_MAIN and sp.state == Speaker.STATE_ISSUED
            assert shop.free_tickets(sp.voucher.code, item) == 1
        assert len(speaker(event, pretalx, 1).talks) == 2
        # further speakers: 25 % off the 200.00 ticket
        for n in (3, 4, 8, 9):
            sp = speaker(event, pretalx, n)
            assert sp.role == Speaker.ROLE_CO
            assert buys(shop, item, sp.voucher) == Decimal('150.00')
        # submitted and rejected talks give nothing
        assert not Speaker.objects.filter(event=event, code__in=[pretalx.data['speakers'][n] for n in ('5', '6')])
        assert Voucher.objects.filter(event=event).count() == 7
        # one mail each, in the speaker's language, with the code; recorded as pretix records a voucher it sent
        for n in range(1, 10):
            to = [m for m in djmail.outbox if f'speaker{n}@example.org' in m.to]
            if n in (5, 6):
                assert to == []
                continue
            assert len(to) == 1
            code = speaker(event, pretalx, n).voucher.code
            assert code in to[0].body
            sent = LogEntry.objects.get(action_type='pretix.voucher.sent', object_id=speaker(event, pretalx, n).voucher_id)
            assert sent.parsed_data['recipient'] == f'speaker{n}@example.org'
        assert 'vielen Dank, dass Sie' in [m for m in djmail.outbox if 'speaker2@example.org' in m.to][0].body
    page = manager_client.get(url(event)).content.decode()
    assert 'speaker3@example.org' in page and 'Last error' not in page


def test_a_second_sync_changes_nothing(manager_client, connected, pretalx):
    press(manager_client, connected, 'sync')
    before = snapshot(connected)
    r = press(manager_client, connected, 'sync')
    assert '0 vouchers issued, 0 upgraded, 0 released, 7 speakers unchanged' in r.content.decode()
    assert snapshot(connected) == before


def test_a_withdrawn_talk_releases_unused_voucher_and_flags_a_used_one(manager_client, connected, pretalx, item):
    event = connected
    press(manager_client, event, 'sync')
    shop = Shop(event)
    with scopes_disabled():
        used = speaker(event, pretalx, 3).voucher
        total, r = shop.order(used.code, item, simulate=False)
        assert total == Decimal('150.00')
        unused = speaker(event, pretalx, 2).voucher
    pretalx.run('state', pretalx.data['talks'][PAIR], 'withdrawn')
    press(manager_client, event, 'sync')
    with scopes_disabled():
        sp2, sp3 = speaker(event, pretalx, 2), speaker(event, pretalx, 3)
        assert sp2.state == Speaker.STATE_ENDED and sp2.role == Speaker.ROLE_NONE
        unused.refresh_from_db()
        assert unused.valid_until <= now() and shop.free_tickets(unused.code, item) == 0
        assert sp3.state == Speaker.STATE_ATTENTION and used.code in sp3.attention
        used.refresh_from_db()
        assert used.redeemed == 1 and used.price_mode == 'percent'  # nothing taken back
        # the other speakers keep theirs
        assert speaker(event, pretalx, 1).state == Speaker.STATE_ISSUED


def test_a_co_speaker_becoming_main_speaker_gets_the_voucher_upgraded_in_place(
        manager_client, connected, pretalx, item):
    event = connected
    press(manager_client, event, 'sync')
    with scopes_disabled():
        before = speaker(event, pretalx, 8).voucher
    pretalx.run('remove', pretalx.data['talks'][TRIO], pretalx.data['speakers']['7'])
    r = press(manager_client, event, 'sync')
    assert '0 vouchers issued, 1 upgraded, 1 released' in r.content.decode()
    shop = Shop(event)
    with scopes_disabled():
        sp8 = speaker(event, pretalx, 8)
        assert sp8.role == Speaker.ROLE_MAIN and sp8.voucher_id == before.pk
        assert shop.free_tickets(sp8.voucher.code, item) == 1
        assert speaker(event, pretalx, 9).role == Speaker.ROLE_CO
        assert speaker(event, pretalx, 7).state == Speaker.STATE_ENDED
        assert len([m for m in djmail.outbox if 'speaker8@example.org' in m.to]) == 1  # no second mail


def test_pretalx_stopped_mid_sync_changes_nothing_and_the_next_sync_completes(
        manager_client, connected, pretalx, monkeypatch, item):
    event = connected
    press(manager_client, event, 'sync')
    pretalx.run('state', pretalx.data['talks'][SOLO], 'withdrawn')
    pretalx.run('remove', pretalx.data['talks'][TRIO], pretalx.data['speakers']['7'])
    before = snapshot(event)
    # pages of two talks; pretalx goes away after answering the first page
    monkeypatch.setattr(rules, 'PAGE_SIZE', 2)
    real_get = rules.Pretalx.get
    pages = []

    def get_then_stop(self, *args, **kwargs):
        answer = real_get(self, *args, **kwargs)
        pages.append(answer)
        pretalx.stop()
        return answer

    monkeypatch.setattr(rules.Pretalx, 'get', get_then_stop)
    r = press(manager_client, event, 'sync')
    assert 'The sync failed and changed nothing' in r.content.decode() and 'unreachable' in r.content.decode()
    assert len(pages) == 1 and pages[0]['next']
    assert snapshot(event) == before
    page = manager_client.get(url(event)).content.decode()
    assert 'Last error' in page and 'unreachable' in page
    monkeypatch.setattr(rules.Pretalx, 'get', real_get)
    pretalx.start()
    r = press(manager_client, event, 'sync')
    assert '1 upgraded, 1 released' in r.content.decode()
    assert 'Last error' not in manager_client.get(url(event)).content.decode()
    with scopes_disabled():
        assert speaker(event, pretalx, 8).role == Speaker.ROLE_MAIN
        # speaker 1 still has a confirmed talk: keeps the voucher
        assert speaker(event, pretalx, 1).state == Speaker.STATE_ISSUED


def test_a_sync_without_a_product_for_the_vouchers_says_so_and_changes_nothing(
        manager_client, connected, pretalx, item):
    event = connected
    with scopes_disabled():
        del event.settings.grants_voucher_item
    r = press(manager_client, event, 'sync')
    page = r.content.decode()
    assert r.status_code == 200
    assert 'The sync failed and changed nothing' in page and 'Choose a product for speaker vouchers' in page
    with scopes_disabled():
        assert not Speaker.objects.filter(event=event).exists()
        assert not Voucher.objects.filter(event=event).exists()
    assert djmail.outbox == []
    assert 'Choose a product for speaker vouchers' in manager_client.get(url(event)).content.decode()
    with scopes_disabled():
        event.settings.grants_speakers_item = item.pk
    assert 'Sync done: 7 vouchers issued' in press(manager_client, event, 'sync').content.decode()


@pytest.mark.parametrize('change,expected', [
    ({}, 'Connected to "PyConf 2027": 2 accepted and 2 confirmed talks, 7 speakers.'),
    ({'grants_pretalx_token': 'wrong'}, 'pretalx refused the API token'),
    ({'grants_pretalx_event': 'nope'}, 'pretalx has no event "nope"'),
    ({'grants_pretalx_url': 'http://127.0.0.1:9'}, 'is unreachable'),
    ({'reviewer': True}, 'may not see the speakers\' e-mail addresses'),
])
def test_test_connection_says_what_it_found_or_what_failed(manager_client, connected, pretalx, change, expected):
    with scopes_disabled():
        for key, value in change.items():
            if key == 'reviewer':
                connected.settings.grants_pretalx_token = pretalx.data['tokens']['reviewer']
            else:
                connected.settings.set(key, value)
    r = press(manager_client, connected, 'test')
    assert expected in r.content.decode().replace('&quot;', '"').replace('&#x27;', "'")
    assert snapshot(connected)[0] == []  # a test changes nothing


def test_speakers_without_email_are_listed_not_guessed(manager_client, connected, pretalx):
    with scopes_disabled():
        connected.settings.grants_pretalx_token = pretalx.data['tokens']['reviewer']
    r = press(manager_client, connected, 'sync')
    assert '7 without e-mail' in r.content.decode()
    with scopes_disabled():
        assert Voucher.objects.filter(event=connected).count() == 0
        assert set(Speaker.objects.filter(event=connected).values_list('email', flat=True)) == {''}
    assert djmail.outbox == []
    assert 'no e-mail address' in manager_client.get(url(connected)).content.decode()


def test_cron_syncs_when_switched_on_and_retries_after_a_failure(connected, pretalx):
    with scopes_disabled():
        connected.settings.grants_speakers_auto_sync = True
    pretalx.stop()
    assert failures(periodic_task.send_robust(sender=None)) == []
    with scopes_disabled():
        assert Speaker.objects.filter(event=connected).count() == 0
        assert 'unreachable' in connected.settings.grants_pretalx_last_error
    pretalx.start()
    assert failures(periodic_task.send_robust(sender=None)) == []  # the next run retries at once after a failure
    with scopes_disabled():
        assert Speaker.objects.filter(event=connected, state=Speaker.STATE_ISSUED).count() == 7
        assert connected.settings.grants_pretalx_last_error == ''
    assert failures(periodic_task.send_robust(sender=None)) == []  # within 15 minutes of a success: not again
    with scope(organizer=connected.organizer):
        assert not rules.due(connected)


def test_the_token_is_kept_when_the_settings_are_saved_without_it(manager_client, connected, pretalx):
    data = form_data(manager_client.get(url(connected)))
    data['grants_pretalx_token'] = ''
    r = manager_client.post(url(connected), data)
    assert r.status_code == 302
    with scopes_disabled():
        assert connected.settings.grants_pretalx_token == pretalx.token


def test_the_shredder_removes_the_speakers_names_and_addresses(manager_client, connected, pretalx):
    press(manager_client, connected, 'sync')
    with scope(organizer=connected.organizer):
        shredder = SpeakerShredder(connected)
        files = {name: content for name, _type, content in shredder.generate_files()}
        assert 'speaker3@example.org' in files['speakers.json']
        shredder.shred_data()
    with scopes_disabled():
        assert set(Speaker.objects.filter(event=connected).values_list('name', 'email')) == {('', '')}
        assert Speaker.objects.filter(event=connected, voucher__isnull=False).count() == 7
    assert 'speaker3@example.org' not in manager_client.get(url(connected)).content.decode()
