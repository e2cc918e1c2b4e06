import uuid
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django_scopes import scopes_disabled
from pretix.base.models import LogEntry, Voucher

from pretix_grants.models import Grant, GrantMail

from ..conftest import committed, mails_to
from .conftest import url

N = 200


def bulk(client, event, action, *, grants=None, filter='', run=None, **extra):
    data = {'operation': action, 'run': str(run or uuid.uuid4()), 'filter': filter,
            'scope': 'selected' if grants is not None else 'all', **extra}
    if grants is not None:
        data['grant'] = [g.pk for g in grants]
    with committed():
        r = client.post(url(event, 'bulk/'), data, follow=True)
    assert r.status_code == 200
    return r


def outcome(response):
    return {row['grant']: (row['result'], row['message']) for row in response.context['rows']}


@scopes_disabled()
def fresh(grants):
    return [Grant.objects.get(pk=g.pk) for g in grants]


@pytest.fixture
@scopes_disabled()
def programme(event, make_grant, grant_settings, quota, item):
    """N confirmed grants without vouchers; three hold a redeemed discount voucher, the quota is 7 short."""
    grants = [make_grant(Grant.STATUS_CONFIRMED) for _ in range(N)]
    redeemed = grants[10:13]
    for g in redeemed:
        v = event.vouchers.create(code=f'HALF{g.pk}', item=item, price_mode='percent', value=Decimal('50.00'),
                                  max_usages=1, redeemed=1)
        v.log_action('pretix.voucher.sent', data={'recipient': g.email, 'subject': 'x', 'message': 'x'})
    quota.size = N - len(redeemed) - 7
    quota.save()
    pending = [make_grant(Grant.STATUS_PENDING) for _ in range(3)]
    return grants, redeemed, pending


@pytest.mark.django_db
def test_bulk_issue_vouchers_and_email_them(manager_client, event, programme):
    grants, redeemed, pending = programme
    no_quota = grants[-7:]
    failing = set(g.pk for g in redeemed + no_quota)

    r = bulk(manager_client, event, 'issue', filter='status=confirmed')
    result = outcome(r)
    assert len(result) == N
    with scopes_disabled():
        for g in grants:
            g.refresh_from_db()
            state, message = result[g.pk]
            if g.pk in failing:
                assert state == 'failed'
                assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
                assert ('already been redeemed' if g in redeemed else 'No quota') in message
                assert not mails_to(g.email)
            else:
                assert state == 'done', message
                assert g.voucher_state == Grant.VOUCHER_ISSUED
                assert Voucher.objects.filter(grant=g).count() == 1
                assert g.voucher.price_mode == 'set' and g.voucher.value == Decimal('0.00')
                assert len(mails_to(g.email)) == 1
                assert GrantMail.objects.filter(grant=g, kind=GrantMail.KIND_VOUCHER).count() == 1
    html = r.content.decode()
    assert f'{N - len(failing)} done' in html and f'{len(failing)} failed' in html

    with scopes_disabled():
        vouchers, mails, outbox = Voucher.objects.count(), GrantMail.objects.count(), len(djmail.outbox)
    r = bulk(manager_client, event, 'issue', grants=grants + pending)
    result = outcome(r)
    with scopes_disabled():
        assert (Voucher.objects.count(), GrantMail.objects.count(), len(djmail.outbox)) == (vouchers, mails, outbox)
    assert {result[g.pk][0] for g in grants if g.pk not in failing} == {'skipped'}
    assert {result[pk][0] for pk in failing} == {'failed'}
    assert {result[g.pk][0] for g in pending} == {'skipped'}
    assert 'Only a confirmed grant' in result[pending[0].pk][1]


@pytest.mark.django_db
def test_the_same_submission_twice_runs_once(manager_client, event, make_grant, grant_settings):
    grants = [make_grant(Grant.STATUS_APPROVED) for _ in range(3)]
    run = uuid.uuid4()
    bulk(manager_client, event, 'remind', grants=grants, run=run)
    assert len(djmail.outbox) == 3
    r = bulk(manager_client, event, 'remind', grants=grants, run=run)
    assert len(djmail.outbox) == 3
    assert set(r for r, m in outcome(r).values()) == {'done'}
    # another action sent from the same page (after going back) is a run of its own
    r = bulk(manager_client, event, 'cancel', grants=grants[:1], run=run)
    assert outcome(r) == {grants[0].pk: ('done', '')}


@pytest.mark.django_db
def test_bulk_stage_publish_and_cancel(manager_client, event, make_grant, grant_settings):
    pending = [make_grant(Grant.STATUS_PENDING) for _ in range(4)]
    rejected = make_grant(Grant.STATUS_REJECTED)
    r = bulk(manager_client, event, 'stage', grants=pending + [rejected], decision='approved')
    result = outcome(r)
    assert [result[g.pk][0] for g in pending] == ['done'] * 4
    assert result[rejected.pk][0] == 'skipped'
    assert [g.decision for g in fresh(pending)] == ['approved'] * 4
    assert not djmail.outbox

    r = bulk(manager_client, event, 'publish', filter='decision=approved')
    assert {s for s, m in outcome(r).values()} == {'done'}
    assert [g.status for g in fresh(pending)] == [Grant.STATUS_APPROVED] * 4
    assert len(djmail.outbox) == 4
    r = bulk(manager_client, event, 'publish', grants=pending)
    assert {s for s, m in outcome(r).values()} == {'skipped'}
    assert len(djmail.outbox) == 4

    r = bulk(manager_client, event, 'cancel', grants=pending[:2])
    assert {s for s, m in outcome(r).values()} == {'done'}
    r = bulk(manager_client, event, 'cancel', grants=pending[:2] + [rejected])
    assert {s for s, m in outcome(r).values()} == {'skipped'}
    with scopes_disabled():
        assert Grant.objects.filter(status=Grant.STATUS_CANCELLED).count() == 2


@pytest.mark.django_db
def test_bulk_resend_and_remind(manager_client, event, make_grant, grant_settings, item):
    confirmed = make_grant(Grant.STATUS_CONFIRMED, email='c@example.org')
    with scopes_disabled():
        confirmed.voucher = event.vouchers.create(item=item, price_mode='set', value=Decimal('0.00'))
        confirmed.voucher_state = Grant.VOUCHER_ISSUED
        confirmed.save()
    approved = make_grant(Grant.STATUS_APPROVED, email='a@example.org')
    r = bulk(manager_client, event, 'resend', grants=[confirmed, approved])
    assert outcome(r)[confirmed.pk][0] == 'done' and outcome(r)[approved.pk][0] == 'skipped'
    r = bulk(manager_client, event, 'remind', grants=[confirmed, approved])
    assert outcome(r)[confirmed.pk][0] == 'skipped' and outcome(r)[approved.pk][0] == 'done'
    assert len(mails_to('c@example.org')) == 1 and len(mails_to('a@example.org')) == 1
    with scopes_disabled():
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.mail.sent').count() == 2


@pytest.mark.django_db
def test_bad_bulk_posts_are_messages(manager_client, event, make_grant):
    g = make_grant()
    r = manager_client.post(url(event, 'bulk/'), {'operation': 'stage', 'run': str(uuid.uuid4()),
                                                  'scope': 'selected', 'grant': [g.pk]}, follow=True)
    assert any('Choose the decision' in str(m) for m in r.context['messages'])
    r = manager_client.post(url(event, 'bulk/'), {'operation': 'publish', 'run': str(uuid.uuid4()),
                                                  'scope': 'selected'}, follow=True)
    assert any('Select at least one grant' in str(m) for m in r.context['messages'])
    r = manager_client.post(url(event, 'bulk/'), {'operation': 'explode', 'run': 'x', 'scope': 'selected'}, follow=True)
    assert r.status_code == 200
    assert manager_client.get(url(event, f'bulk/{uuid.uuid4()}/')).status_code == 404


@pytest.mark.django_db
def test_result_of_another_event_is_not_shown(manager_client, client, event, make_grant, grant_settings, organizer):
    from datetime import timedelta

    from django.utils.timezone import now
    from pretix.base.models import Event

    g = make_grant(Grant.STATUS_PENDING)
    r = bulk(manager_client, event, 'stage', grants=[g], decision='approved')
    result_url = r.redirect_chain[-1][0]
    assert manager_client.get(result_url).status_code == 200
    with scopes_disabled():
        other = Event.objects.create(organizer=organizer, name='Other', slug='o',
                                     date_from=now() + timedelta(days=3), plugins='pretix_grants')
    run = result_url.rstrip('/').rsplit('/', 1)[1]
    assert manager_client.get(url(other, f'bulk/{run}/')).status_code == 404


@pytest.mark.django_db
def test_progress_dialog_gets_json(manager_client, event, make_grant, grant_settings):
    g = make_grant(Grant.STATUS_PENDING)
    run = str(uuid.uuid4())
    data = {'operation': 'stage', 'decision': 'rejected', 'run': run, 'scope': 'selected', 'grant': [g.pk], 'ajax': '1'}
    with committed():
        r = manager_client.post(url(event, 'bulk/'), data)
    assert r.status_code == 200
    assert r.json()['ready'] and '/bulk/' in r.json()['redirect']
    first = r.json()['redirect']
    r = manager_client.post(url(event, 'bulk/'), data)
    assert r.json()['redirect'] == first
    r = manager_client.post(url(event, 'bulk/'), {**data, 'run': str(uuid.uuid4()), 'decision': ''})
    assert r.json()['success'] is False and '/grants/' in r.json()['redirect']
    [g] = fresh([g])
    assert g.decision == 'rejected'


@pytest.mark.django_db
def test_viewer_cannot_run_bulk_actions(client, viewer, event, make_grant):
    g = make_grant(Grant.STATUS_APPROVED)
    client.force_login(viewer)
    r = client.post(url(event, 'bulk/'), {'operation': 'cancel', 'run': str(uuid.uuid4()), 'scope': 'selected',
                                          'grant': [g.pk]})
    assert r.status_code == 403
    [g] = fresh([g])
    assert g.status == Grant.STATUS_APPROVED
    assert 'name="grant"' not in client.get(url(event)).content.decode()
