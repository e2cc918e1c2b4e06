import pytest
from django.core.management import call_command
from pretix.base.models import Event, Voucher

from pretix_grants.models import Grant

from .conftest import committed


@pytest.mark.django_db
def test_demo_command_makes_grants_in_every_status_and_can_run_again(capsys):
    with committed():
        call_command('grants_demo')
    event = Event.objects.get(slug='2027', organizer__slug='democon')
    assert 'pretix_grants' in event.get_plugins()
    assert {g.status for g in event.grants.all()} == {s for s, _ in Grant.STATUS_CHOICES}
    assert event.grants.filter(decision__isnull=False).exists()
    confirmed = event.grants.filter(status=Grant.STATUS_CONFIRMED)
    assert all(g.voucher and g.voucher.calculate_price(g.voucher.item.default_price) == 0 for g in confirmed)
    assert Voucher.objects.get(code='COSPEAKER25').price_mode == 'percent'
    # invitation letters: one issued, one waiting
    assert {lr.grant.email: lr.status for lr in event.letter_requests.all()} == {
        'grace@example.org': 'approved', 'ada@example.org': 'requested'}
    out = capsys.readouterr().out
    assert 'admin@localhost / admin' in out and 'http://127.0.0.1:8000/control/' in out

    with committed():
        call_command('grants_demo')
    assert event.grants.count() == len({g.email for g in event.grants.all()}) == 11
    assert event.letter_requests.count() == 2


@pytest.mark.django_db
def test_plugin_is_offered_in_the_events_plugin_settings(admin_client, event):
    response = admin_client.get(f'/control/event/{event.organizer.slug}/{event.slug}/settings/plugins')
    assert response.status_code == 200
    assert 'Grants' in response.content.decode()
    assert 'pretix_grants' in response.content.decode()
