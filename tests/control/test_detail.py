from decimal import Decimal

import pytest
from django_scopes import scopes_disabled
from pretix.base.models import LogEntry, OutgoingMail

from pretix_grants import workflow
from pretix_grants.models import Grant, GrantMail

from ..conftest import committed, mails_to
from .conftest import url

BUTTONS = {
    'stage': 'value="stage"', 'publish': 'value="publish"', 'confirm': 'value="confirm"',
    'refuse': 'value="refuse"', 'cancel': 'value="cancel"', 'issue': 'value="issue"',
    'resend': 'value="resend"', 'link': 'value="link"', 'remind': 'value="remind"',
}


def buttons(response):
    html = response.content.decode()
    return {name for name, marker in BUTTONS.items() if marker in html}


def act(client, event, grant, **data):
    return client.post(url(event, f'{grant.pk}/action/'), data, follow=True)


def messages_of(response):
    return [str(m) for m in response.context['messages']]


@scopes_disabled()
def refreshed(*objects):
    for o in objects:
        o.refresh_from_db()


@scopes_disabled()
def log_count():
    return LogEntry.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize('status,fields,expected', [
    (Grant.STATUS_PENDING, {}, {'stage', 'link'}),
    (Grant.STATUS_PENDING, {'decision': 'approved'}, {'stage', 'publish', 'link'}),
    (Grant.STATUS_APPROVED, {}, {'confirm', 'refuse', 'cancel', 'remind', 'link'}),
    (Grant.STATUS_CONFIRMED, {}, {'refuse', 'cancel', 'issue', 'link'}),
    (Grant.STATUS_REJECTED, {}, set()),
    (Grant.STATUS_CANCELLED, {}, set()),
    (Grant.STATUS_EXPIRED, {}, {'stage'}),
    (Grant.STATUS_WAITING_LIST, {}, {'stage', 'cancel', 'link'}),
])
def test_buttons_only_where_the_state_machine_allows(manager_client, event, make_grant, grant_settings,
                                                     status, fields, expected):
    g = make_grant(status, **fields)
    assert buttons(manager_client.get(url(event, f'{g.pk}/'))) == expected


@pytest.mark.django_db
def test_confirmed_grant_with_voucher_offers_resend(manager_client, event, make_grant, item):
    g = make_grant(Grant.STATUS_CONFIRMED)
    with scopes_disabled():
        g.voucher = event.vouchers.create(code='FREE1', item=item, price_mode='set', value=Decimal('0.00'))
        g.voucher_state = Grant.VOUCHER_ISSUED
        g.save()
    r = manager_client.get(url(event, f'{g.pk}/'))
    assert buttons(r) == {'refuse', 'cancel', 'resend'}
    assert f'/vouchers/{g.voucher.pk}/' in r.content.decode()


@pytest.mark.django_db
def test_viewer_sees_no_buttons_and_cannot_act(client, viewer, event, make_grant):
    g = make_grant(Grant.STATUS_APPROVED)
    client.force_login(viewer)
    assert buttons(client.get(url(event, f'{g.pk}/'))) == set()
    assert client.post(url(event, f'{g.pk}/action/'), {'operation': 'cancel'}).status_code == 403
    refreshed(g)
    assert g.status == Grant.STATUS_APPROVED


@pytest.mark.django_db
@pytest.mark.parametrize('status,data', [
    (Grant.STATUS_REJECTED, {'operation': 'confirm'}),
    (Grant.STATUS_PENDING, {'operation': 'publish'}),
    (Grant.STATUS_PENDING, {'operation': 'issue'}),
    (Grant.STATUS_CANCELLED, {'operation': 'stage', 'decision': 'approved'}),
    (Grant.STATUS_CONFIRMED, {'operation': 'stage', 'decision': 'rejected'}),
    (Grant.STATUS_PENDING, {'operation': 'resend'}),
    (Grant.STATUS_PENDING, {'operation': 'explode'}),
])
def test_illegal_action_by_hand_changes_nothing(manager_client, event, make_grant, grant_settings, status, data):
    g = make_grant(status)
    before = (g.status, g.decision, g.voucher_state)
    logs = log_count()
    r = act(manager_client, event, g, **data)
    assert r.status_code == 200
    assert any('not possible' in m for m in messages_of(r))
    refreshed(g)
    assert (g.status, g.decision, g.voucher_state) == before
    assert log_count() == logs
    assert not mails_to(g.email)


@pytest.mark.django_db
def test_stage_and_publish(manager_client, event, make_grant, grant_settings):
    g = make_grant(Grant.STATUS_PENDING, email='ada@example.org')
    act(manager_client, event, g, operation='stage', decision='approved')
    refreshed(g)
    assert g.decision == 'approved' and g.status == Grant.STATUS_PENDING
    assert not mails_to('ada@example.org')
    with committed():
        act(manager_client, event, g, operation='publish')
    refreshed(g)
    assert g.status == Grant.STATUS_APPROVED and g.reply_deadline
    assert len(mails_to('ada@example.org')) == 1
    r = manager_client.get(url(event, f'{g.pk}/'))
    html = r.content.decode()
    assert 'A decision has been staged' in html
    assert 'The grant has been approved and offered to the grantee.' in html


@pytest.mark.django_db
def test_confirm_on_behalf_issues_voucher_and_logs_reason(manager_client, event, approved_grant):
    g = approved_grant
    with committed():
        act(manager_client, event, g, operation='confirm', reason='Said yes on the phone')
    refreshed(g)
    assert g.status == Grant.STATUS_CONFIRMED
    assert g.voucher and g.voucher_state == Grant.VOUCHER_ISSUED
    with scopes_disabled():
        log = LogEntry.objects.get(action_type='pretix_grants.grant.confirmed', object_id=g.pk)
    assert log.parsed_data['reason'] == 'Said yes on the phone' and log.parsed_data['actor'] == workflow.ORGANIZER
    html = manager_client.get(url(event, f'{g.pk}/')).content.decode()
    assert 'Said yes on the phone' in html
    assert f'Voucher {g.voucher.code} has been issued.' in html
    assert 'The voucher has been created.' in html  # the voucher's own log, in the timeline


@pytest.mark.django_db
def test_refuse_and_cancel_on_behalf(manager_client, event, make_grant, grant_settings):
    a = make_grant(Grant.STATUS_APPROVED)
    b = make_grant(Grant.STATUS_APPROVED)
    act(manager_client, event, a, operation='refuse', reason='Cannot travel')
    act(manager_client, event, b, operation='cancel', reason='Duplicate application')
    refreshed(a, b)
    assert a.status == Grant.STATUS_REFUSED and b.status == Grant.STATUS_CANCELLED


@pytest.mark.django_db
def test_issue_button_and_needs_attention_message(manager_client, event, make_grant, grant_settings, quota):
    g = make_grant(Grant.STATUS_CONFIRMED, email='c@example.org')
    with scopes_disabled():
        quota.size = 0
        quota.save()
    with committed():
        r = act(manager_client, event, g, operation='issue')
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
    assert any('No quota' in m for m in messages_of(r))
    with scopes_disabled():
        quota.size = 10
        quota.save()
    with committed():
        act(manager_client, event, g, operation='issue')
    refreshed(g)
    assert g.voucher_state == Grant.VOUCHER_ISSUED
    assert len(mails_to('c@example.org')) == 1
    with committed():
        act(manager_client, event, g, operation='resend')
    assert len(mails_to('c@example.org')) == 2


@pytest.mark.django_db
def test_link_existing_voucher_by_code(manager_client, event, make_grant, grant_settings, item):
    g = make_grant(Grant.STATUS_CONFIRMED, email='l@example.org')
    with scopes_disabled():
        v = event.vouchers.create(code='SPEAKER1', item=item, price_mode='set', value=Decimal('0.00'))
    r = act(manager_client, event, g, operation='link', code='nope')
    assert any('This event has no voucher with the code "nope"' in m for m in messages_of(r))
    with committed():
        act(manager_client, event, g, operation='link', code='speaker1')
    refreshed(g)
    assert g.voucher == v and g.voucher_state == Grant.VOUCHER_LINKED
    with scopes_disabled():
        assert event.vouchers.count() == 1
    other = make_grant(Grant.STATUS_CONFIRMED)
    r = act(manager_client, event, other, operation='link', code='SPEAKER1')
    assert any('is already linked to another grant' in m for m in messages_of(r))
    refreshed(other)
    assert other.voucher is None


@pytest.mark.django_db
def test_failed_mail_shows_state_and_can_be_retried(manager_client, event, make_grant):
    g = make_grant(Grant.STATUS_PENDING)
    with scopes_disabled():
        om = OutgoingMail.objects.create(organizer=event.organizer, event=event, to=[g.email], subject='Hi',
                                         body_plain='x', status=OutgoingMail.STATUS_FAILED)
        gm = GrantMail.objects.create(grant=g, kind=GrantMail.KIND_RECEIVED, outgoing_mail=om)
    html = manager_client.get(url(event, f'{g.pk}/')).content.decode()
    assert 'failed' in html and 'value="retry_mail"' in html
    with committed():
        act(manager_client, event, g, operation='retry_mail', mail=gm.pk)
    refreshed(om)
    assert om.status != OutgoingMail.STATUS_FAILED
    r = act(manager_client, event, g, operation='retry_mail', mail=gm.pk)
    assert any('cannot be sent again' in m for m in messages_of(r))


@pytest.mark.django_db
def test_detail_warns_that_confirming_upgrades_the_persons_voucher_in_place(manager_client, event, approved_grant, item):
    with scopes_disabled():
        v = event.vouchers.create(code='COSPEAKER25', item=item, price_mode='percent', value=Decimal('25.00'),
                                  max_usages=1)
        v.log_action('pretix.voucher.sent', data={'recipient': 'ada@example.org', 'subject': 'x', 'message': 'x'})
    html = manager_client.get(url(event, f'{approved_grant.pk}/')).content.decode()
    assert html.count('Confirming changes this person’s existing voucher in place.') == 2  # voucher panel, button
    text = ' '.join(html.split())
    assert 'Their voucher <code>COSPEAKER25</code> gives today: 25% off on Conference ticket.' in text
    assert 'It becomes a free ticket: Conference ticket for free, with the same code.' in text
    assert '<dt>Language</dt><dd>English</dd>' in text

    v.price_mode, v.value = 'set', Decimal('0.00')
    with scopes_disabled():
        v.save()
    html = manager_client.get(url(event, f'{approved_grant.pk}/')).content.decode()
    assert 'in place' not in html and 'creates no new voucher' in html
