"""
Payout batches (claims/payouts.py): each approved claim is paid in one file at most, a file downloads the same every
time, "mark as paid" marks exactly a batch's claims, a cancelled batch frees its claims, a claim the SEPA file
cannot carry is left out with its reason.
"""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time
from pretix.base.models import LogEntry

from pretix_grants.claims import payouts as claim_payouts, rules as claims
from pretix_grants.models import Claim, PayoutBatch, PayoutEntry

from ..claims.conftest import claim_url, form
from ..conftest import committed
from ..racing import run_at_once
from ..test_shredder import run_shredder

BASE = '/control/event/pyconf/2027/grants/claims/'


def export(client, fmt, ids):
    return client.post(BASE + 'export/', {'export_format': fmt, 'claim': [str(i) for i in ids]})


def claims_in(xml):
    return [int(i) for i in re.findall(rb'<EndToEndId>GRANT\d+CLAIM(\d+)</EndToEndId>', xml)]


def batches():
    with scopes_disabled():
        return list(PayoutBatch.objects.order_by('pk'))


def batch_claims(batch):
    with scopes_disabled():
        return sorted(PayoutEntry.objects.filter(batch=batch, active=True).values_list('claim_id', flat=True))


@pytest.mark.django_db
def test_an_export_is_a_batch_and_a_second_export_pays_nobody_twice(payout_claims, admin_client, user):
    ada, grace, cahit = payout_claims
    ids = [c.pk for c in payout_claims]
    r = export(admin_client, 'sepa', ids)
    [batch] = batches()
    assert r.status_code == 302 and r['Location'].endswith(f'/claims/payouts/{batch.pk}/')
    assert batch_claims(batch) == sorted([ada.pk, grace.pk])
    assert (batch.total, batch.format, batch.created_by) == (Decimal('440.49'), 'sepa', user)
    with scopes_disabled():
        le = LogEntry.objects.get(action_type='pretix_grants.payout.created')
    assert le.user == user and le.parsed_data['claims'] == sorted([ada.pk, grace.pk])
    assert 'IBAN' not in le.data and ada.iban not in le.data

    # a retry, a second manager, a forgotten "mark as paid": the same claims are not exported again
    r = export(admin_client, 'sepa', ids)
    assert r.status_code == 302 and r['Location'].endswith('/claims/export/')
    assert 'None of the chosen claims can be' in admin_client.get(r['Location']).content.decode()
    assert len(batches()) == 1
    # the claim the SEPA file could not carry is still payable, in a file of its own
    r = export(admin_client, 'csv', ids)
    assert [batch_claims(b) for b in batches()] == [sorted([ada.pk, grace.pk]), [cahit.pk]]
    with scope(organizer=ada.grant.event.organizer):
        assert list(claims.payable(ada.grant.event)) == []


@pytest.mark.django_db
def test_a_claim_repeated_in_the_post_is_in_the_file_once(payout_claims, admin_client):
    ada = payout_claims[0]
    export(admin_client, 'sepa', [ada.pk, ada.pk, ada.pk, f' {ada.pk}'])
    [batch] = batches()
    assert claims_in(bytes(batch.content)) == [ada.pk]
    assert batch.total == Decimal('240.50')


@pytest.mark.django_db
def test_downloading_a_batch_again_gives_the_same_file(payout_claims, admin_client):
    export(admin_client, 'sepa', [c.pk for c in payout_claims])
    [batch] = batches()
    first = admin_client.get(BASE + f'payouts/{batch.pk}/download/')
    assert first.status_code == 200 and first['Content-Type'] == 'application/xml'
    # later (a file made again would have a new message id, and later a new execution date)
    with freeze_time(now() + timedelta(hours=1)):
        again = admin_client.get(BASE + f'payouts/{batch.pk}/download/')
    assert again.content == first.content == bytes(batch.content)
    assert again['Content-Disposition'] == first['Content-Disposition']
    assert sorted(claims_in(again.content)) == batch_claims(batch)


@pytest.mark.django_db
def test_mark_as_paid_marks_exactly_the_batchs_claims(payout_claims, admin_client):
    ada, grace, cahit = payout_claims
    export(admin_client, 'sepa', [ada.pk])
    export(admin_client, 'csv', [grace.pk, cahit.pk])
    first, second = batches()
    r = admin_client.post(BASE + f'payouts/{first.pk}/paid/')
    assert r.status_code == 302
    with scopes_disabled():
        assert list(Claim.objects.filter(state=Claim.STATE_PAID).values_list('pk', flat=True)) == [ada.pk]
        assert Claim.objects.filter(pk__in=[grace.pk, cahit.pk], state=Claim.STATE_APPROVED).count() == 2
    assert '1 claim has been marked as paid.' in admin_client.get(r['Location']).content.decode()
    # a paid batch is paid once and cannot be cancelled
    admin_client.post(BASE + f'payouts/{first.pk}/paid/')
    admin_client.post(BASE + f'payouts/{first.pk}/cancel/')
    with scopes_disabled():
        assert LogEntry.objects.filter(action_type='pretix_grants.payout.paid').count() == 1
        assert not LogEntry.objects.filter(action_type='pretix_grants.payout.cancelled').exists()
    assert batch_claims(first) == [ada.pk]


@pytest.mark.django_db
def test_a_cancelled_batch_frees_its_claims_and_is_logged(payout_claims, admin_client, user):
    ada, grace, cahit = payout_claims
    export(admin_client, 'xlsx', [ada.pk, grace.pk])
    [batch] = batches()
    r = admin_client.post(BASE + f'payouts/{batch.pk}/cancel/')
    assert 'its claims can be paid again' in admin_client.get(r['Location']).content.decode()
    with scopes_disabled():
        batch.refresh_from_db()
        le = LogEntry.objects.get(action_type='pretix_grants.payout.cancelled')
    assert batch.cancelled_at and batch.cancelled_by == user
    assert le.user == user and sorted(le.parsed_data['claims']) == sorted([ada.pk, grace.pk])
    # a cancelled batch pays nothing, and its claims go into the next file
    admin_client.post(BASE + f'payouts/{batch.pk}/paid/')
    with scopes_disabled():
        assert not Claim.objects.filter(state=Claim.STATE_PAID).exists()
    export(admin_client, 'sepa', [ada.pk, grace.pk])
    assert batch_claims(batches()[-1]) == sorted([ada.pk, grace.pk])
    page = admin_client.get(BASE + 'export/').content.decode()
    assert 'cancelled' in page and f'#{batch.pk}' in page


@pytest.mark.django_db
def test_a_claim_the_sepa_file_cannot_carry_is_left_out_with_its_reason(payout_claims, admin_client):
    ada, grace, cahit = payout_claims
    with scopes_disabled():
        # entered before the grantee's page refused such names
        Claim.objects.filter(pk=grace.pk).update(account_holder='\U0001F600\U0001F680')
    page = admin_client.get(BASE + 'export/').content.decode()
    assert 'has no letters a SEPA file can carry' in page
    r = export(admin_client, 'sepa', [c.pk for c in payout_claims])
    [batch] = batches()
    assert claims_in(bytes(batch.content)) == [ada.pk]
    page = admin_client.get(r['Location']).content.decode()
    assert 'The claim of Grace Hopper' in page and 'has no letters a SEPA file can carry' in page
    assert 'The claim of Cahit Arf' in page and 'outside the SEPA area' in page
    with scope(organizer=ada.grant.event.organizer):
        assert sorted(c.pk for c in claims.payable(ada.grant.event)) == sorted([grace.pk, cahit.pk])


@pytest.mark.django_db
def test_a_name_no_bank_can_read_is_refused_when_entered(claim_grant):
    r = Client().post(claim_url(claim_grant), form('save', account_holder='\U0001F600\U0001F680'))
    assert r.status_code == 200
    assert 'letters your bank can read' in r.content.decode()
    with scopes_disabled():
        assert not Claim.objects.exists()


@pytest.mark.django_db
def test_payout_batches_are_for_managers_only(payout_claims, admin_client, client, viewer):
    export(admin_client, 'sepa', [payout_claims[0].pk])
    [batch] = batches()
    client.force_login(viewer)
    for path in ('export/', f'payouts/{batch.pk}/', f'payouts/{batch.pk}/download/'):
        assert client.get(BASE + path).status_code == 403
    assert client.post(BASE + f'payouts/{batch.pk}/cancel/').status_code == 403
    assert batches()[0].cancelled_at is None


@pytest.mark.django_db
def test_the_claims_shredder_empties_the_payout_files(payout_claims, admin_client, past_event):
    export(admin_client, 'sepa', [c.pk for c in payout_claims])
    past_event.live = False
    past_event.save()
    with committed():
        run_shredder(past_event, ['pretix_grants_claims'])
    [batch] = batches()
    assert bytes(batch.content) == b'' and batch.total == Decimal('440.49')
    assert admin_client.get(BASE + f'payouts/{batch.pk}/download/').status_code == 404


@pytest.mark.skipif(connection.vendor != 'postgresql', reason='row locks: PostgreSQL only')
@pytest.mark.django_db(transaction=True)
def test_two_managers_exporting_at_once_get_disjoint_batches(payout_claims, past_event, user):
    ada, grace, cahit = (c.pk for c in payout_claims)
    asks = [[ada, grace, cahit], [cahit, grace, ada], [ada, grace], [grace, cahit]]

    def export(ids):
        def run():
            try:
                with scope(organizer=past_event.organizer):
                    claim_payouts.create_batch(past_event, 'csv', ids, user=user)
            except claims.ClaimError:
                pass  # everything asked for was taken by another export
        return run

    assert run_at_once(*[export(ids) for ids in asks]) == []
    in_batches = [pk for b in batches() for pk in batch_claims(b)]
    assert sorted(in_batches) == sorted([ada, grace, cahit]), 'every claim in exactly one batch'
    for b in batches():
        assert b.total == sum((c.approved_amount for c in payout_claims if c.pk in batch_claims(b)), Decimal('0.00'))
