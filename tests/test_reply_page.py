"""
The grantee's reply page: what it shows in every state, which answers it takes, and what it refuses.
"""
import re
from datetime import datetime, timedelta, timezone

import pytest
from django.core import mail as djmail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time
from pretix.base.models import Event, LogEntry, Voucher

from pretix_grants import issuance, workflow
from pretix_grants.models import Grant

from .checkout import Shop
from .conftest import committed
from .lifecycle.helpers import order_with_voucher
from .racing import run_at_once

CONFIRM = 'confirm'
DECLINE = 'decline'
OPENED = 'pretix_grants.grant.reply_page.opened'
DEADLINE_PASSED = 'The deadline to reply to this offer has passed.'


def page(grant, secret=None):
    return f'/{grant.event.organizer.slug}/{grant.event.slug}/grant/{secret or grant.secret}/'


def html(response):
    return response.content.decode()


def buttons(response):
    """The answers the page offers, as real submit buttons."""
    return {a for a in (CONFIRM, DECLINE) if re.search(rf'<button type="submit" name="answer" value="{a}"', html(response))}


@scopes_disabled()
def snapshot(grant):
    grant.refresh_from_db()
    return (grant.status, grant.voucher_id, grant.voucher_state, grant.modified,
            LogEntry.objects.filter(object_id=grant.pk, action_type__startswith='pretix_grants.grant.').exclude(
                action_type=OPENED).count(),
            Voucher.objects.filter(event=grant.event).count())


@scopes_disabled()
def status_log(grant):
    return list(LogEntry.objects.filter(
        object_id=grant.pk, action_type__in=[f'pretix_grants.grant.{s}' for s, _ in Grant.STATUS_CHOICES],
    ).order_by('pk').values_list('action_type', flat=True))


@pytest.fixture
def grant_in(make_grant, grant_settings, item):
    """A grant in one of the states a grantee can find their page in."""

    def make(state):
        if state in ('pending', 'waiting_list', 'rejected', 'expired', 'cancelled', 'refused'):
            return make_grant(state, name='Ada Lovelace', email='ada@example.org')
        g = make_grant(Grant.STATUS_APPROVED, name='Ada Lovelace', email='ada@example.org')
        if state == 'approved':
            return g
        if state == 'approved_late':
            with scopes_disabled():
                Grant.objects.filter(pk=g.pk).update(reply_deadline=now() - timedelta(minutes=1))
        elif state == 'confirmed_waiting':
            with scope(organizer=g.event.organizer):  # as the reply page confirms
                workflow.confirm(g)  # the voucher task runs after commit, which this test transaction never reaches
        elif state in ('confirmed', 'confirmed_used'):
            with scope(organizer=g.event.organizer), committed():
                workflow.confirm(g)
            if state == 'confirmed_used':
                # a real order through pretix's checkout: "used" is judged by the orders holding the voucher
                with scopes_disabled():
                    order_with_voucher(g.event, item, Voucher.objects.get(pk=Grant.objects.get(pk=g.pk).voucher_id))
        g.refresh_from_db()
        return g

    return make


# state: (heading, buttons)
EXPECTED = {
    'pending': ('No decision yet', set()),
    'waiting_list': ('You are on the waiting list', set()),
    'rejected': ('No grant this time', set()),
    'approved': ('We are offering you a grant', {CONFIRM, DECLINE}),
    'approved_late': ('The offer has expired', set()),
    'confirmed_waiting': ('You have confirmed your grant', {DECLINE}),
    'confirmed': ('You have confirmed your grant', {DECLINE}),
    'confirmed_used': ('You have confirmed your grant', set()),
    'refused': ('You have declined the grant', set()),
    'expired': ('The offer has expired', set()),
    'cancelled': ('The grant has been cancelled', set()),
}

# state: (status after POST confirm, status after POST decline); None: refused, nothing changes
AFTER_POST = {
    'pending': (None, None),
    'waiting_list': (None, None),
    'rejected': (None, None),
    'approved': ('confirmed', 'refused'),
    'approved_late': (None, None),
    'confirmed_waiting': ('confirmed', 'refused'),
    'confirmed': ('confirmed', 'refused'),
    'confirmed_used': ('confirmed', None),
    'refused': (None, 'refused'),
    'expired': (None, None),
    'cancelled': (None, None),
}


@pytest.mark.django_db
@pytest.mark.parametrize('state', EXPECTED)
def test_page_shows_the_state_in_plain_words_with_the_right_buttons(client, grant_in, state):
    grant = grant_in(state)
    heading, expected_buttons = EXPECTED[state]

    response = client.get(page(grant))

    assert response.status_code == 200
    assert heading in html(response)
    assert 'Ada Lovelace' in html(response)
    assert 'PyConf 2027' in html(response)
    assert buttons(response) == expected_buttons
    assert 'no-store' in response['Cache-Control'] or 'no-cache' in response['Cache-Control']


@pytest.mark.django_db
@pytest.mark.parametrize('state', AFTER_POST)
@pytest.mark.parametrize('action', [CONFIRM, DECLINE])
def test_answers_are_taken_only_where_the_state_machine_allows_them(client, grant_in, state, action):
    grant = grant_in(state)
    before = snapshot(grant)
    expected = AFTER_POST[state][0 if action == CONFIRM else 1]
    data = {'answer': action}
    if action == DECLINE:
        data['really'] = 'yes'

    with committed(grant.event.organizer):
        response = client.post(page(grant), data, follow=True)

    assert response.redirect_chain == [(page(grant), 302)]
    grant.refresh_from_db()
    if expected is None or expected == before[0]:
        assert snapshot(grant) == before, 'nothing may change'
    if expected is None:
        assert 'Your answer was not saved.' in html(response)
    else:
        assert grant.status == expected
        assert 'Your answer was not saved.' not in html(response)
        assert 'alert-success' in html(response)
    if expected == 'refused' and before[0] != 'refused':
        entry = LogEntry.objects.filter(object_id=grant.pk, action_type='pretix_grants.grant.refused').get()
        assert entry.parsed_data['actor'] == workflow.GRANTEE
        assert grant.voucher_id is None
        if before[1]:
            # the voucher is ended (never deleted under a live shop): pretix's checkout refuses it
            with scopes_disabled():
                voucher = Voucher.objects.get(pk=before[1])
            assert Shop(grant.event).free_tickets(voucher.code, voucher.item) == 0


@pytest.mark.django_db
def test_confirming_shows_the_voucher_and_the_ticket_button(client, grant_in):
    grant = grant_in('approved')

    with committed(grant.event.organizer):
        response = client.post(page(grant), {'answer': CONFIRM})
    response = client.get(response['Location'])

    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED
    assert 'Thank you: your grant is confirmed.' in html(response)
    assert grant.voucher.code in html(response)
    assert 'Get your ticket' in html(response)
    # the button goes through pretix's language switcher (the page's language becomes the shop's) to the voucher
    link = re.search(r'<a href="([^"]+)"[^>]*id="redeem"', html(response)).group(1).replace('&amp;', '&')
    assert link.startswith('http://example.com/locale/set?locale=en&')
    shop = client.get(link)
    assert shop.status_code == 302
    assert shop['Location'] == f'/pyconf/2027/redeem?voucher={grant.voucher.code}'
    assert shop.cookies['pretix_language'].value == 'en'
    assert 'http-equiv="refresh"' not in html(response)
    entry = LogEntry.objects.filter(object_id=grant.pk, action_type='pretix_grants.grant.confirmed').get()
    assert entry.parsed_data['actor'] == workflow.GRANTEE
    assert entry.user is None


@pytest.mark.django_db
def test_until_the_voucher_exists_the_page_says_it_is_on_its_way_and_reloads(client, grant_in):
    grant = grant_in('confirmed_waiting')

    response = client.get(page(grant))
    assert 'is on its way' in html(response)
    assert f'<meta http-equiv="refresh" content="5;url={page(grant)}?wait=1">' in html(response)
    assert 'Get your ticket' not in html(response)

    response = client.get(page(grant) + '?wait=24')
    assert 'is on its way' in html(response)
    assert 'http-equiv="refresh"' not in html(response), 'it stops reloading after two minutes'

    with scope(organizer=grant.event.organizer):  # as the voucher task does
        issuance.issue_voucher(grant)
    grant.refresh_from_db()
    response = client.get(page(grant) + '?wait=3')
    assert grant.voucher.code in html(response)
    assert 'http-equiv="refresh"' not in html(response)


@pytest.mark.django_db
def test_a_voucher_that_needs_attention_is_announced_without_reloading(client, grant_in):
    grant = grant_in('confirmed_waiting')
    with scopes_disabled():
        Grant.objects.filter(pk=grant.pk).update(voucher_state=Grant.VOUCHER_NEEDS_ATTENTION,
                                                 voucher_attention='no quota')

    response = client.get(page(grant))

    assert 'the organizers are preparing it' in html(response)
    assert 'no quota' not in html(response)
    assert 'http-equiv="refresh"' not in html(response)


@pytest.mark.django_db
def test_decline_asks_once_more_before_it_acts(client, grant_in):
    grant = grant_in('approved')
    before = snapshot(grant)

    response = client.post(page(grant), {'answer': DECLINE})

    assert response.status_code == 200
    assert 'Do you really want to decline your grant?' in html(response)
    assert '<input type="hidden" name="really" value="yes">' in html(response)
    assert f'<a href="{page(grant)}" class="btn btn-default btn-lg">No, go back</a>' in html(response)
    assert snapshot(grant) == before

    with committed(grant.event.organizer):
        response = client.post(page(grant), {'answer': DECLINE, 'really': 'yes'}, follow=True)
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_REFUSED
    assert 'You have declined the grant. Thank you for letting us know.' in html(response)
    assert buttons(response) == set()


@pytest.mark.django_db
def test_a_confirmed_grantee_can_withdraw_and_the_voucher_is_released(client, grant_in):
    grant = grant_in('confirmed')
    code = grant.voucher.code

    response = client.post(page(grant), {'answer': DECLINE})
    assert f'Your voucher code {code} will stop working.' in html(response)

    with committed(grant.event.organizer):
        client.post(page(grant), {'answer': DECLINE, 'really': 'yes'})

    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_REFUSED
    with scopes_disabled():
        voucher = Voucher.objects.get(code=code)
    assert Shop(grant.event).free_tickets(code, voucher.item) == 0  # stopped working, as the page said
    assert status_log(grant) == ['pretix_grants.grant.confirmed', 'pretix_grants.grant.refused']


@pytest.mark.django_db
def test_a_used_voucher_cannot_be_withdrawn_from_the_page(client, grant_in):
    grant = grant_in('confirmed_used')
    before = snapshot(grant)

    response = client.post(page(grant), {'answer': DECLINE}, follow=True)
    assert 'Your voucher has already been used.' in html(response)
    response = client.post(page(grant), {'answer': DECLINE, 'really': 'yes'}, follow=True)
    assert 'Your voucher has already been used.' in html(response)
    assert snapshot(grant) == before


@pytest.mark.django_db
def test_double_submits_leave_one_confirmation_and_one_voucher(client, grant_in):
    grant = grant_in('approved')

    for _ in range(3):
        with committed(grant.event.organizer):
            response = client.post(page(grant), {'answer': CONFIRM}, follow=True)
        assert 'Thank you: your grant is confirmed.' in html(response)

    grant.refresh_from_db()
    assert status_log(grant) == ['pretix_grants.grant.confirmed']
    with scopes_disabled():
        assert Voucher.objects.filter(event=grant.event).count() == 1
    assert grant.voucher.code in html(response)


@pytest.mark.django_db
@pytest.mark.parametrize('data', [
    {'answer': CONFIRM}, {'answer': DECLINE}, {'answer': DECLINE, 'really': 'yes'},
])
def test_after_the_deadline_the_buttons_are_gone_and_answers_are_refused(client, grant_in, data):
    grant = grant_in('approved')
    before = snapshot(grant)

    with freeze_time(grant.reply_deadline + timedelta(seconds=1)):
        response = client.get(page(grant))
        assert buttons(response) == set()
        assert DEADLINE_PASSED in html(response)

        with committed(grant.event.organizer):
            response = client.post(page(grant), data, follow=True)
        assert f'Your answer was not saved. {DEADLINE_PASSED}' in html(response)
        assert buttons(response) == set()

    assert snapshot(grant) == before


@pytest.mark.django_db
def test_just_before_the_deadline_answers_are_taken(client, grant_in):
    grant = grant_in('approved')
    with freeze_time(grant.reply_deadline - timedelta(seconds=1)):
        with committed(grant.event.organizer):
            client.post(page(grant), {'answer': CONFIRM})
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED


@pytest.mark.django_db
def test_unknown_answers_change_nothing(client, grant_in):
    grant = grant_in('approved')
    before = snapshot(grant)
    response = client.post(page(grant), {'answer': 'delete'}, follow=True)
    assert 'We did not understand your answer.' in html(response)
    assert snapshot(grant) == before


@pytest.mark.django_db
def test_csrf_is_enforced(grant_in):
    grant = grant_in('approved')
    before = snapshot(grant)
    csrf_client = Client(enforce_csrf_checks=True)

    assert csrf_client.post(page(grant), {'answer': CONFIRM}).status_code == 403
    assert csrf_client.post(page(grant), {'answer': DECLINE, 'really': 'yes'}).status_code == 403
    assert snapshot(grant) == before

    response = csrf_client.get(page(grant))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(response)).group(1)
    with committed(grant.event.organizer):
        response = csrf_client.post(page(grant), {'answer': CONFIRM, 'csrfmiddlewaretoken': token})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED


@pytest.mark.django_db
@pytest.mark.parametrize('secret', [
    'x' * 43,  # well-formed, unknown
    'short',  # shorter than any secret
    'x' * 64,
    'x' * 65,  # longer than the URL allows
    'not.a+secret',  # characters a secret never has
])
def test_unknown_or_malformed_secrets_are_404(client, grant_in, secret):
    grant = grant_in('approved')
    before = snapshot(grant)
    assert client.get(page(grant, secret)).status_code == 404
    assert client.post(page(grant, secret), {'answer': CONFIRM}).status_code == 404
    assert snapshot(grant) == before


@pytest.mark.django_db
def test_a_secret_that_only_starts_right_is_404(client, grant_in):
    grant = grant_in('approved')
    wrong_end = grant.secret[:-1] + ('A' if grant.secret[-1] != 'A' else 'B')
    assert client.get(page(grant, wrong_end)).status_code == 404
    assert client.get(page(grant, grant.secret[:20])).status_code == 404
    assert client.get(page(grant, grant.secret + 'A')).status_code == 404
    assert client.get(page(grant, grant.secret.swapcase())).status_code == 404
    assert client.get(page(grant)).status_code == 200


@pytest.mark.django_db
def test_a_secret_of_another_event_is_404_and_reveals_nothing(client, grant_in, organizer):
    grant = grant_in('approved')
    with scopes_disabled():
        other = Event.objects.create(
            organizer=organizer, name='PyConf 2028', slug='2028', currency='EUR',
            date_from=now() + timedelta(days=400), plugins='pretix_grants', live=True,
        )
        other_grant = Grant.objects.create(event=other, name='Grace Hopper', email='grace@example.org',
                                           status=Grant.STATUS_APPROVED, reply_deadline=now() + timedelta(days=3))
    before = snapshot(grant), snapshot(other_grant)

    mixed_up = client.get(f'/pyconf/2027/grant/{other_grant.secret}/')
    made_up = client.get('/pyconf/2027/grant/' + 'x' * 43 + '/')
    assert mixed_up.status_code == made_up.status_code == 404
    assert 'Grace Hopper' not in html(mixed_up)
    # the same page, but for the theme's cache-busting version (it carries a timestamp)
    same = [re.sub(r'version=[^"]*', '', html(r)) for r in (mixed_up, made_up)]
    assert same[0].replace(other_grant.secret, 'x' * 43) == same[1]
    assert client.post(f'/pyconf/2027/grant/{other_grant.secret}/', {'answer': CONFIRM}).status_code == 404
    assert client.get(f'/pyconf/2028/grant/{other_grant.secret}/').status_code == 200
    assert (snapshot(grant), snapshot(other_grant)) == before


@pytest.mark.django_db
def test_the_page_is_404_where_the_plugin_is_off(client, grant_in, event):
    grant = grant_in('approved')
    event.plugins = ''
    event.save()
    assert client.get(page(grant)).status_code == 404


@pytest.mark.django_db
def test_the_page_shows_the_offer_in_the_event_currency_and_the_deadline_in_the_event_timezone(client, grant_in, event):
    event.settings.timezone = 'Asia/Tokyo'
    grant = grant_in('approved')
    with scopes_disabled():
        Grant.objects.filter(pk=grant.pk).update(
            reply_deadline=datetime(2099, 1, 10, 3, 30, tzinfo=timezone.utc), accommodation_amount='120.50',
        )

    response = client.get(page(grant))

    body = html(response)
    assert 'A free ticket' in body
    assert 'Travel: €300.00' in body
    assert 'Accommodation: €120.50' in body
    assert 'Other:' not in body
    assert '2099-01-10 12:30 (Asia/Tokyo)' in body  # pretix's format, as the mails write it
    assert '(Asia/Tokyo)' in body
    assert '03:30' not in body


@pytest.mark.django_db
def test_a_money_only_grant_offers_no_ticket_and_no_voucher(client, make_grant, grant_settings):
    grant = make_grant(Grant.STATUS_APPROVED, ticket=False)
    with committed(grant.event.organizer):
        response = client.post(page(grant), {'answer': CONFIRM}, follow=True)
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED
    assert 'A free ticket' not in html(response)
    assert 'on its way' not in html(response)
    assert 'Get your ticket' not in html(response)
    with scopes_disabled():
        assert Voucher.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize('grant_locale,cookie,expected', [
    ('de', None, 'de'),
    ('en', None, 'en'),
    ('fr', None, 'en'),  # not a language of the event: the event's default
    ('en', 'de', 'de'),  # chosen with the language switcher
    ('de', 'fr', 'de'),  # a choice made elsewhere, in a language this event does not offer
])
def test_the_page_speaks_the_grants_language(client, make_grant, grant_settings, grant_locale, cookie, expected):
    grant = make_grant(Grant.STATUS_APPROVED, locale=grant_locale)
    if cookie:
        client.cookies['pretix_language'] = cookie

    response = client.get(page(grant), HTTP_ACCEPT_LANGUAGE='fr')

    assert response['Content-Language'] == expected
    assert f'<html lang="{expected}">' in html(response)
    # pretix's language switcher, pointing back at this page
    assert f'/locale/set?locale=de&next={page(grant)}' in html(response)
    assert f'/locale/set?locale=en&next={page(grant)}' in html(response)


@pytest.mark.django_db
def test_the_timeline_records_the_first_visit_once_without_personal_data(client, grant_in):
    grant = grant_in('approved')

    client.get(page(grant), REMOTE_ADDR='203.0.113.7', HTTP_USER_AGENT='Phone')
    client.get(page(grant))
    Client().get(page(grant))

    entries = LogEntry.objects.filter(object_id=grant.pk, action_type=OPENED)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.parsed_data == {}
    assert entry.user is None
    assert entry.display() == 'The grantee opened their reply page for the first time.'


@pytest.mark.django_db
def test_after_the_first_visit_reloads_ask_the_database_nothing_about_it(client, grant_in, settings):
    settings.CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache',
                                   'LOCATION': 'reply-page-opened'}}
    grant = grant_in('approved')

    with CaptureQueriesContext(connection) as first:
        assert client.get(page(grant)).status_code == 200
    with CaptureQueriesContext(connection) as reload:
        assert Client().get(page(grant)).status_code == 200

    def log_queries(ctx):
        return [q['sql'] for q in ctx.captured_queries if 'pretixbase_logentry' in q['sql']]
    assert log_queries(first) and not log_queries(reload)
    assert len(reload.captured_queries) < len(first.captured_queries)
    assert LogEntry.objects.filter(object_id=grant.pk, action_type=OPENED).count() == 1


@pytest.mark.django_db
def test_the_first_visit_queues_no_webhook_task_where_the_organizer_has_no_webhook(
        client, grant_in, django_capture_on_commit_callbacks):
    grant = grant_in('approved')

    with django_capture_on_commit_callbacks() as callbacks:
        assert client.get(page(grant)).status_code == 200

    assert LogEntry.objects.filter(object_id=grant.pk, action_type=OPENED).count() == 1
    assert callbacks == []


@pytest.mark.django_db
def test_an_organizer_looking_at_the_page_is_not_recorded_as_the_grantee(client, grant_in, organizer, event, user):
    team = organizer.teams.create(name='Admins', all_events=True, all_event_permissions=True)
    team.members.add(user)
    client.force_login(user)
    grant = grant_in('approved')

    assert client.get(page(grant)).status_code == 200

    assert not LogEntry.objects.filter(object_id=grant.pk, action_type=OPENED).exists()


@pytest.mark.django_db
def test_the_page_is_usable_without_javascript_and_with_real_labels(client, grant_in):
    grant = grant_in('approved')
    body = html(client.get(page(grant)))

    assert body.count('<form method="post" action="%s">' % page(grant)) == 2
    assert '<button type="submit" name="answer" value="confirm" class="btn btn-primary btn-lg btn-block">' in body
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert '<meta name="robots" content="noindex, nofollow">' in body
    assert '<meta name="referrer" content="origin">' in body, 'the secret link never leaves in a Referer header'
    assert 'onclick' not in body.split('<div class="grant-reply">')[1]


@pytest.mark.django_db
def test_the_page_works_before_the_shop_is_live(client, grant_in, event):
    event.live = False
    event.save()
    grant = grant_in('approved')

    assert client.get(page(grant)).status_code == 200
    with committed(grant.event.organizer):
        client.post(page(grant), {'answer': CONFIRM})
    response = client.get(page(grant))

    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED
    assert grant.voucher.code in html(response)
    assert 'Get your ticket' not in html(response)
    assert 'Our ticket shop is not open yet.' in html(response)
    assert client.get(f'/{event.organizer.slug}/{event.slug}/').status_code == 403, 'the shop itself stays closed'


@pytest.mark.django_db
def test_staged_decisions_and_internal_notes_stay_hidden(client, make_grant, grant_settings):
    grant = make_grant(internal_note='Keep an eye on the budget')
    with scope(organizer=grant.event.organizer):  # as the control panel stages it
        workflow.stage_decision(grant, Grant.STATUS_REJECTED)

    body = html(client.get(page(grant)))

    assert 'No decision yet' in body
    assert 'Keep an eye on the budget' not in body
    assert 'No grant this time' not in body
    assert 'grantee1@example.org' not in body


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != 'postgresql', reason='needs PostgreSQL (row locks); run `make test-postgres`')
@pytest.mark.django_db(transaction=True)
def test_two_tabs_answering_at_once_give_one_confirmation_one_voucher_and_one_first_visit(grant_in):
    grant = grant_in('approved')
    djmail.outbox = []
    responses = []

    errors = run_at_once(*[lambda: responses.append(Client().get(page(grant)).status_code) for _ in range(8)])
    assert errors == [] and responses == [200] * 8
    errors = run_at_once(*[lambda: responses.append(Client().post(page(grant), {'answer': CONFIRM})['Location'])
                           for _ in range(8)])

    assert errors == []
    assert responses[8:] == [page(grant)] * 8
    grant.refresh_from_db()
    assert grant.status == Grant.STATUS_CONFIRMED
    assert status_log(grant) == ['pretix_grants.grant.confirmed']
    with scopes_disabled():
        assert Voucher.objects.filter(event=grant.event).count() == 1
    assert [m.to for m in djmail.outbox] == [['ada@example.org']]
    assert LogEntry.objects.filter(object_id=grant.pk, action_type=OPENED).count() == 1
