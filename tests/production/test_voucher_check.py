"""
The periodic consistency check: voucher changes that fire no signal (pretix's bulk edit via ``bulk_update``, a
deleted product's ``vouchers.update(item=None, ...)``) reach the grants within one cron run, judged as a single edit.
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django_scopes import scope, scopes_disabled
from pretix.base.models import Voucher
from pretix.base.signals import periodic_task

from pretix_grants import issuance, workflow
from pretix_grants.models import Grant

from ..conftest import committed

pytestmark = pytest.mark.django_db


def cron():
    """One run of pretix's ``runperiodic``: no scope; no receiver of the plugin may fail."""
    cache.clear()
    with committed():
        results = periodic_task.send_robust(sender=None)
    failed = {r.__name__: v for r, v in results if r.__module__.startswith('pretix_grants') and isinstance(v, Exception)}
    assert failed == {}


@pytest.fixture
def confirmed(approved_grant, event):
    with scope(organizer=event.organizer), committed():
        workflow.confirm(approved_grant)
    cron()  # the check has seen the voucher as issued
    with scopes_disabled():
        approved_grant.refresh_from_db()
    assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED and approved_grant.voucher_fingerprint
    return approved_grant


def grant_of(grant):
    with scopes_disabled():
        return Grant.objects.get(pk=grant.pk)


def test_a_bulk_edit_that_reprices_grant_vouchers_is_caught_by_the_next_cron_run(confirmed):
    with scopes_disabled():
        voucher = Voucher.objects.get(pk=confirmed.voucher_id)
        voucher.price_mode, voucher.value = 'set', Decimal('50.00')
        Voucher.objects.bulk_update([voucher], ['price_mode', 'value'])  # as pretix's bulk edit: no signal

    assert grant_of(confirmed).voucher_state == Grant.VOUCHER_ISSUED  # nothing noticed it yet
    cron()
    g = grant_of(confirmed)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and g.voucher_id is None
    assert f'Voucher {voucher.code} was changed in pretix and no longer gives a free ticket' in g.voucher_attention
    assert g.voucher_original == {'ended': voucher.pk}


def test_a_bulk_edit_of_max_usages_is_judged_and_one_that_keeps_the_free_ticket_is_not(confirmed):
    with scopes_disabled():
        voucher = Voucher.objects.get(pk=confirmed.voucher_id)
        voucher.valid_until = voucher.valid_until + timedelta(days=1)
        Voucher.objects.bulk_update([voucher], ['valid_until'])
    cron()
    assert grant_of(confirmed).voucher_state == Grant.VOUCHER_ISSUED  # still one free ticket: nothing

    with scopes_disabled():
        voucher.max_usages = 3
        Voucher.objects.bulk_update([voucher], ['max_usages'])  # pretix's bulk edit of the number of uses
    cron()
    g = grant_of(confirmed)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and g.voucher_id is None


def test_deleting_the_grant_product_lets_its_vouchers_go_within_one_cron_run(confirmed, item):
    with scopes_disabled():
        item.delete()  # pretix: self.vouchers.update(item=None, variation=None, quota=None), then the delete
        assert Voucher.objects.get(pk=confirmed.voucher_id).item_id is None
    cron()
    g = grant_of(confirmed)
    assert g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and g.voucher_id is None
    assert 'no longer gives a free ticket' in g.voucher_attention


def test_the_check_reads_every_grant_voucher_in_one_query(confirmed, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert issuance.check_vouchers() == 0
