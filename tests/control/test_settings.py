from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import Event
from pretix.base.reldate import RelativeDateWrapper

from pretix_grants import issuance
from pretix_grants.models import Grant

from .conftest import form_data, url


@pytest.fixture
@scopes_disabled()
def tshirt(event):
    item = event.items.create(name='Ticket with shirt', default_price=Decimal('250.00'), admission=True)
    small = item.variations.create(value='S')
    large = item.variations.create(value='L')
    q = event.quotas.create(name='Shirt tickets', size=10)
    q.items.add(item)
    q.variations.add(small, large)
    return item, small, large, q


def settings_form(client, event):
    r = client.get(url(event, 'settings/'))
    assert r.status_code == 200
    return form_data(r)


@pytest.mark.django_db
def test_unchanged_form_saves_nothing_wrong(manager_client, event, item):
    data = settings_form(manager_client, event)
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 302, r.context['form'].errors if r.context else r
    assert event.settings.grants_reply_days == 14
    assert event.settings.grants_voucher_tag == 'grant'


@pytest.mark.django_db
def test_settings_saved_and_used_by_the_next_voucher(manager_client, event, make_grant, tshirt):
    item, small, large, q = tshirt
    data = settings_form(manager_client, event)
    until = (now() + timedelta(days=30)).replace(microsecond=0, second=0)
    data.update({
        'grants_voucher_item': str(item.pk), 'grants_voucher_variation': str(large.pk),
        'grants_voucher_tag': 'fa-2027', 'grants_reply_days': '7', 'grants_budget': '10000.00',
        'grants_voucher_valid_until_0': 'absolute',
        'grants_voucher_valid_until_1': until.astimezone(event.timezone).strftime('%Y-%m-%d %H:%M:%S'),
    })
    data.pop('grants_voucher_block_quota', None)  # unchecked
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 302, r.context['form'].errors
    s = event.settings
    s.flush()
    assert s.grants_voucher_item == item.pk and s.grants_voucher_variation == large.pk
    assert s.grants_budget == Decimal('10000.00') and s.grants_reply_days == 7
    assert isinstance(s.grants_voucher_valid_until, RelativeDateWrapper)

    g = make_grant(Grant.STATUS_CONFIRMED)
    with scope(organizer=event.organizer):  # as pretix's task for the event runs it
        g = issuance.issue_voucher(g)
    v = g.voucher
    assert (v.item, v.variation, v.tag, v.block_quota) == (item, large, 'fa-2027', False)
    assert v.valid_until == until
    assert v.calculate_price(large.price) == Decimal('0.00')


@pytest.mark.django_db
@pytest.mark.parametrize('change,field', [
    ({'grants_voucher_variation': 'SMALL'}, 'grants_voucher_variation'),
    ({'grants_voucher_variation': ''}, 'grants_voucher_variation'),
    ({'grants_voucher_quota': 'Q'}, '__all__'),
    ({'grants_reply_days': '0'}, 'grants_reply_days'),
    ({'grants_budget': '-5'}, 'grants_budget'),
    ({'grants_mail_voucher_text_0': 'Your code: {voucher_kode}'}, 'grants_mail_voucher_text'),
    ({'grants_mail_voucher_subject_0': 'Ticket {event'}, 'grants_mail_voucher_subject'),
])
def test_invalid_settings_are_form_errors(manager_client, event, tshirt, change, field):
    item, small, large, q = tshirt
    data = settings_form(manager_client, event)
    data.update({'grants_voucher_item': str(item.pk), 'grants_voucher_variation': str(large.pk)})
    values = {'SMALL': '999999', 'Q': str(q.pk)}
    data.update({k: values.get(v, v) for k, v in change.items()})
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 200
    assert field in r.context['form'].errors
    event.settings.flush()
    assert event.settings.grants_voucher_item is None


@pytest.mark.django_db
def test_template_saved_and_preview_renders_placeholders(manager_client, event, item):
    data = settings_form(manager_client, event)
    assert 'grants_mail_voucher_text_0' in data and 'grants_mail_voucher_text_1' in data  # en and de
    data['grants_mail_voucher_text_0'] = 'Dear {name}, your code is {voucher_code}: {redeem_url}'
    data['grants_mail_voucher_text_1'] = 'Hallo {name}, dein Code: {voucher_code}'
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 302, r.context['form'].errors
    event.settings.flush()
    assert 'your code is {voucher_code}' in str(event.settings.grants_mail_voucher_text)

    r = manager_client.get(url(event, 'settings/preview/voucher/'))
    html = r.content.decode()
    assert 'Dear Jane Doe, your code is GRANT7QK2M9XR: http' in html
    assert '{name}' not in html
    r = manager_client.get(url(event, 'settings/preview/voucher/') + '?locale=de')
    # the German preview's sample values are German too, as pretix's own ("Jane Doe" is "Erika Mustermann")
    assert 'Hallo Erika Mustermann, dein Code: GRANT7QK2M9XR' in r.content.decode()
    # the settings page links a preview of every template in every language
    r = manager_client.get(url(event, 'settings/'))
    html = r.content.decode()
    assert html.count('settings/preview/voucher/?locale=') == 2 and 'settings/preview/received/?locale=de' in html
    assert manager_client.get(url(event, 'settings/preview/nothing/')).status_code == 404


@pytest.mark.django_db
def test_settings_follow_the_event_when_it_is_cloned(event, tshirt):
    item, small, large, q = tshirt
    event.settings.grants_voucher_item = item.pk
    event.settings.grants_voucher_variation = small.pk
    event.settings.grants_voucher_tag = 'fa'
    event.settings.grants_mail_voucher_subject = 'Your ticket'
    with scopes_disabled():
        clone = Event.objects.create(organizer=event.organizer, name='PyConf 2028', slug='2028', currency='EUR',
                                     date_from=now() + timedelta(days=400))
    with scope(organizer=event.organizer):  # pretix's event creation page copies the event
        clone.copy_data_from(event)
    clone.settings.flush()
    with scopes_disabled():
        new_item = clone.items.get(name='Ticket with shirt')
        assert clone.settings.grants_voucher_item == new_item.pk != item.pk
        assert clone.settings.grants_voucher_variation == new_item.variations.get(value='S').pk
    assert clone.settings.grants_voucher_tag == 'fa'
    assert str(clone.settings.grants_mail_voucher_subject) == 'Your ticket'

    del event.settings.grants_voucher_item
    del event.settings.grants_voucher_variation
    event.settings.grants_voucher_quota = q.pk
    with scopes_disabled():
        clone2 = Event.objects.create(organizer=event.organizer, name='PyConf 2029', slug='2029', currency='EUR',
                                      date_from=now() + timedelta(days=800))
    with scope(organizer=event.organizer):
        clone2.copy_data_from(event)
    clone2.settings.flush()
    with scopes_disabled():
        assert clone2.settings.grants_voucher_quota == clone2.quotas.get(name='Shirt tickets').pk


@pytest.mark.django_db
def test_lifecycle_settings_and_expiry_template_are_on_the_settings_page(manager_client, event, item):
    data = settings_form(manager_client, event)
    assert data['grants_reminder_days'] == '3'
    assert 'grants_mail_expired_subject_0' in data
    data.update({'grants_reminder_days': '5', 'grants_promote_waiting_list': 'on', 'grants_max_offers': '40',
                 'grants_mail_expired_subject_0': 'Too late for {event}'})
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 302, r.context['form'].errors
    s = event.settings
    s.flush()
    assert (s.grants_reminder_days, s.grants_promote_waiting_list, s.grants_max_offers) == (5, True, 40)
    assert str(s.grants_mail_expired_subject) == 'Too late for {event}'

    data['grants_reminder_days'] = '-1'
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 200 and 'grants_reminder_days' in r.context['form'].errors


@pytest.mark.django_db
def test_each_template_offers_only_the_placeholders_that_have_a_value_in_it(manager_client, event, item):
    r = manager_client.get(url(event, 'settings/'))
    form = r.context['form']
    assert form['grants_mail_voucher_subject'].label == form['grants_mail_received_subject'].label == 'Subject'
    assert '{voucher_code}' in form['grants_mail_voucher_text'].help_text
    assert '{reply_deadline}' in form['grants_mail_decision_approved_text'].help_text
    received = form['grants_mail_received_text'].help_text
    assert '{reply_url}' in received and '{event}' in received
    assert '{voucher_code}' not in received and '{reply_deadline}' not in received

    data = settings_form(manager_client, event)
    data['grants_mail_received_text_0'] = 'Your code: {voucher_code}'
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 200
    assert 'grants_mail_received_text' in r.context['form'].errors
    r = manager_client.get(url(event, 'settings/preview/received/'))
    assert 'GRANT7QK2M9XR' not in r.content.decode()
