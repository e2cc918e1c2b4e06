from datetime import timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.core import mail as djmail
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import LogEntry, Order, OrderPosition, Voucher
from pretix.base.services.vouchers import vouchers_send

from pretix_grants import issuance, workflow
from pretix_grants.models import Grant

from ..checkout import Shop
from ..conftest import committed, mails_to


def in_request(event):
    """The plugin's code as the reply page, the control panel or the API runs it: in the organizer's scope."""
    return scope(organizer=event.organizer)


def sent_by_pretix(event, user, email, **voucher_fields):
    """A voucher an organizer sent to ``email`` with pretix's own "send by email"."""
    with scopes_disabled():
        v = event.vouchers.create(code=voucher_fields.pop('code'), **voucher_fields)
    with in_request(event):  # pretix's voucher page sends it
        vouchers_send(event, [v.pk], 'Your code', 'Hello, your code: {voucher_list}', [
            {'email': email, 'number': 1, 'name': 'Speaker'},
        ], user.pk)
    djmail.outbox = []
    with scopes_disabled():
        v.refresh_from_db()
    return v


@scopes_disabled()
def redeem(voucher, item):
    """A paid order for ``item`` that used ``voucher``."""
    event = voucher.event
    order = Order.objects.create(
        event=event, email='someone@example.org', status=Order.STATUS_PAID,
        datetime=now(), expires=now() + timedelta(days=10), total=Decimal('150.00'),
        sales_channel=event.organizer.sales_channels.get(identifier='web'),
    )
    OrderPosition.objects.create(order=order, item=item, price=Decimal('150.00'), voucher=voucher)
    Voucher.objects.filter(pk=voucher.pk).update(redeemed=voucher.redeemed + 1)
    voucher.refresh_from_db()
    return order


@pytest.mark.django_db
def test_confirming_creates_one_free_voucher_and_mails_it(approved_grant, item):
    with in_request(approved_grant.event), committed():
        workflow.confirm(approved_grant)

    with scopes_disabled():
        approved_grant.refresh_from_db()
        vouchers = list(approved_grant.event.vouchers.all())
        assert len(vouchers) == 1
        v = vouchers[0]
        assert approved_grant.voucher == v
        assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED
        assert (v.item, v.variation, v.quota) == (item, None, None)
        assert (v.price_mode, v.value, v.max_usages, v.redeemed) == ('set', Decimal('0.00'), 1, 0)
        assert v.calculate_price(item.default_price) == Decimal('0.00')
        assert v.tag == 'grant'
        assert v.block_quota is True
        assert v.valid_until == approved_grant.event.date_to
        assert 'Ada Lovelace' in v.comment

    mails = mails_to('ada@example.org')
    assert len(mails) == 1
    assert v.code in mails[0].body
    assert f'/redeem?voucher={v.code}' in unquote(mails[0].body)  # the link goes through the shop's language switcher
    assert mails[0].subject == 'Your free ticket for PyConf 2027'

    with scopes_disabled():
        record = approved_grant.mails.get()
        assert record.kind == 'voucher'
        assert record.status == 'sent'
        assert LogEntry.objects.filter(action_type='pretix.voucher.added', object_id=v.pk).count() == 1
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.voucher.issued',
                                       object_id=approved_grant.pk).count() == 1


@pytest.mark.django_db
def test_issuing_twice_leaves_one_voucher_and_one_mail(approved_grant, event):
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    with in_request(event):  # as pretix's task runs it, in the event's organizer's scope
        issuance.issue_voucher(approved_grant)
        issuance.issue_voucher(approved_grant)
    with in_request(event), committed():
        workflow.confirm(approved_grant)

    with scopes_disabled():
        assert approved_grant.event.vouchers.count() == 1
        assert approved_grant.mails.count() == 1
    assert len(mails_to('ada@example.org')) == 1


@pytest.mark.django_db
def test_voucher_follows_the_settings(approved_grant, event, item, quota):
    event.settings.grants_voucher_tag = 'finaid'
    event.settings.grants_voucher_block_quota = False
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        v = event.vouchers.get()
    assert (v.tag, v.block_quota) == ('finaid', False)


@pytest.mark.django_db
def test_quota_voucher_when_a_quota_is_configured(approved_grant, event, item, quota):
    del event.settings.grants_voucher_item
    event.settings.grants_voucher_quota = quota.pk
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        v = event.vouchers.get()
        assert (v.item, v.quota) == (None, quota)
    assert v.calculate_price(item.default_price) == Decimal('0.00')


@pytest.mark.django_db
def test_no_quota_left_needs_attention_and_creates_nothing(approved_grant, event, quota):
    with scopes_disabled():
        quota.size = 0
        quota.save()
    with in_request(event), committed():
        workflow.confirm(approved_grant)

    with scopes_disabled():
        approved_grant.refresh_from_db()
        assert approved_grant.status == Grant.STATUS_CONFIRMED
        assert approved_grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
        assert 'quota' in approved_grant.voucher_attention
        assert not approved_grant.event.vouchers.exists()
        assert LogEntry.objects.filter(action_type='pretix_grants.grant.voucher.needs_attention',
                                       object_id=approved_grant.pk).exists()
    assert mails_to('ada@example.org') == []

    # the organizer makes room; issuing again now works
    with scopes_disabled():
        quota.size = 10
        quota.save()
    with in_request(event):
        issuance.issue_voucher(approved_grant)
    with scopes_disabled():
        approved_grant.refresh_from_db()
        assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED
        assert approved_grant.event.vouchers.count() == 1
    assert len(mails_to('ada@example.org')) == 1


@pytest.mark.django_db
def test_missing_product_setting_needs_attention(make_grant, event):
    grant = make_grant(Grant.STATUS_APPROVED)
    with in_request(event), committed():
        workflow.confirm(grant)
    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
        assert 'No product or quota' in grant.voucher_attention
        assert not event.vouchers.exists()


@pytest.mark.django_db
def test_grant_without_ticket_gets_no_voucher(make_grant, grant_settings, event):
    grant = make_grant(Grant.STATUS_APPROVED, ticket=False)
    with in_request(event), committed():
        workflow.confirm(grant)
    with scopes_disabled():
        grant.refresh_from_db()
        assert grant.status == Grant.STATUS_CONFIRMED
        assert grant.voucher_state == Grant.VOUCHER_NOT_ISSUED
        assert not event.vouchers.exists()


@pytest.mark.django_db
def test_r4_discount_voucher_sent_by_pretix_is_upgraded_in_place(approved_grant, event, item, user):
    """The co-speaker's 25% code becomes the grant: same code, and pretix itself now prices it at 0.00."""
    v = sent_by_pretix(event, user, 'Ada@Example.org', code='COSPEAKER25', price_mode='percent',
                       value=Decimal('25.00'), item=item, max_usages=1,
                       valid_until=event.date_from - timedelta(days=30))
    assert v.calculate_price(item.default_price) == Decimal('150.00')

    with in_request(event), committed():
        workflow.confirm(approved_grant)

    with scopes_disabled():
        assert event.vouchers.count() == 1
        v = Voucher.objects.get(code='COSPEAKER25')
        approved_grant.refresh_from_db()
        assert approved_grant.voucher == v
        assert approved_grant.voucher_state == Grant.VOUCHER_UPGRADED
        assert (v.price_mode, v.value, v.item) == ('set', Decimal('0.00'), item)
        assert v.calculate_price(item.default_price) == Decimal('0.00')
        assert v.is_active()
        assert v.valid_until == event.date_to  # as long as a grant voucher is
        change = LogEntry.objects.get(action_type='pretix.voucher.changed', object_id=v.pk)
        assert change.parsed_data['previous']['price_mode'] == 'percent'
        assert change.parsed_data['previous']['value'] == '25.00'
        assert change.parsed_data['value'] == '0.00'

    mails = mails_to('ada@example.org')
    assert len(mails) == 1 and 'COSPEAKER25' in mails[0].body

    # refusing later gives the person their 25% back
    with in_request(event):
        workflow.refuse(approved_grant, actor=workflow.GRANTEE)
    with scopes_disabled():
        v.refresh_from_db()
        assert (v.price_mode, v.value) == ('percent', Decimal('25.00'))
        assert v.valid_until == event.date_from - timedelta(days=30)
        assert v.calculate_price(item.default_price) == Decimal('150.00')
        approved_grant.refresh_from_db()
        assert approved_grant.voucher is None
        assert approved_grant.voucher_state == Grant.VOUCHER_NOT_ISSUED


@pytest.mark.django_db
def test_free_speaker_voucher_is_kept_and_no_second_voucher(approved_grant, event, item, user):
    v = sent_by_pretix(event, user, 'ada@example.org', code='SPEAKERFREE', price_mode='set',
                       value=Decimal('0.00'), item=item)
    with scopes_disabled():
        before = Voucher.objects.filter(pk=v.pk).values().get()

    with in_request(event), committed():
        workflow.confirm(approved_grant)

    with scopes_disabled():
        assert event.vouchers.count() == 1
        assert Voucher.objects.filter(pk=v.pk).values().get() == before
        approved_grant.refresh_from_db()
        assert (approved_grant.voucher, approved_grant.voucher_state) == (v, Grant.VOUCHER_LINKED)
    assert 'SPEAKERFREE' in mails_to('ada@example.org')[0].body

    # cancelling the grant leaves the speaker's own voucher alone
    with in_request(event):
        workflow.cancel(approved_grant)
    with scopes_disabled():
        assert Voucher.objects.filter(pk=v.pk).values().get() == before


@pytest.mark.django_db
def test_redeemed_discount_voucher_needs_attention_and_no_new_voucher(approved_grant, event, item, user):
    v = sent_by_pretix(event, user, 'ada@example.org', code='USED25', price_mode='percent',
                       value=Decimal('25.00'), item=item)
    order = redeem(v, item)

    with in_request(event), committed():
        workflow.confirm(approved_grant)

    with scopes_disabled():
        assert event.vouchers.count() == 1
        approved_grant.refresh_from_db()
        assert approved_grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
        assert order.code in approved_grant.voucher_attention
        assert 'USED25' in approved_grant.voucher_attention
        assert approved_grant.voucher == v
        v.refresh_from_db()
        assert (v.price_mode, v.value) == ('percent', Decimal('25.00'))
    assert mails_to('ada@example.org') == []


@pytest.mark.django_db
def test_voucher_sent_to_someone_else_is_not_touched(approved_grant, event, item, user):
    other = sent_by_pretix(event, user, 'bob@example.org', code='BOB25', price_mode='percent',
                           value=Decimal('25.00'), item=item)
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        other.refresh_from_db()
        assert (other.price_mode, other.value) == ('percent', Decimal('25.00'))
        assert event.vouchers.count() == 2


@pytest.mark.django_db
def test_organizer_linked_voucher_is_upgraded(approved_grant, event, item):
    with scopes_disabled():
        v = event.vouchers.create(code='LINKED10', price_mode='subtract', value=Decimal('10.00'), item=item)
        approved_grant.voucher = v
        approved_grant.save()
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        v.refresh_from_db()
        assert v.calculate_price(item.default_price) == Decimal('0.00')
        assert event.vouchers.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize('end', ['refuse', 'cancel'])
def test_ending_a_confirmed_grant_ends_its_unused_voucher(end, approved_grant, event, item):
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        code = event.vouchers.get().code
    assert Shop(event).free_tickets(code, item) == 1
    with in_request(event):
        if end == 'refuse':
            workflow.refuse(approved_grant, actor=workflow.GRANTEE)
        else:
            workflow.cancel(approved_grant, reason='Duplicate application')
    # made unusable rather than deleted under a live shop: pretix's checkout refuses it
    assert Shop(event).free_tickets(code, item) == 0
    with scopes_disabled():
        approved_grant.refresh_from_db()
        assert (approved_grant.voucher, approved_grant.voucher_state) == (None, Grant.VOUCHER_NOT_ISSUED)
        assert LogEntry.objects.filter(action_type='pretix.voucher.changed',
                                       object_id=event.vouchers.get().pk).count() == 1
        entry = LogEntry.objects.get(action_type='pretix_grants.grant.voucher.ended', object_id=approved_grant.pk)
        assert entry.parsed_data['code'] == code


@pytest.mark.django_db
def test_ending_a_grant_whose_voucher_was_used_keeps_it_and_flags(approved_grant, event, item):
    with in_request(event), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        v = event.vouchers.get()
    order = redeem(v, item)
    with in_request(event):
        workflow.cancel(approved_grant)
    with scopes_disabled():
        assert event.vouchers.get() == v
        approved_grant.refresh_from_db()
        assert approved_grant.status == Grant.STATUS_CANCELLED
        assert approved_grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION
        assert order.code in approved_grant.voucher_attention


@pytest.mark.django_db
def test_refusing_before_confirming_issues_nothing(approved_grant, event):
    with in_request(event):
        workflow.refuse(approved_grant)
    with scopes_disabled():
        assert not event.vouchers.exists()
    assert mails_to('ada@example.org') == []
