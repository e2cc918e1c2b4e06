"""
Periodic work as pretix's cron runs it: ``runperiodic`` sends ``periodic_task`` with no scope active. Every receiver
of the plugin must do its work there, and every receiver of a pretix signal must run with no scope.
"""
import weakref
from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.core.cache import cache
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.api import signals as api_signals
from pretix.base import signals as pretix_signals
from pretix.base.models import OutgoingMail, Voucher
from pretix.base.signals import periodic_task
from pretix.control import signals as control_signals
from pretix.presale import signals as presale_signals

from pretix_grants import signals, workflow
from pretix_grants.claims import signals as claim_signals
from pretix_grants.letters import signals as letter_signals
from pretix_grants.models import Grant, GrantMail
from pretix_grants.speakers import signals as speaker_signals
from pretix_grants.tickets import signals as ticket_signals

from ..conftest import committed, mails_to

pytestmark = pytest.mark.django_db


def plugin_results(results):
    return {f'{r.__module__}.{r.__name__}': value for r, value in results if r.__module__.startswith('pretix_grants')}


@pytest.fixture
def stalled_voucher_mail(approved_grant, event):
    """A confirmed grant whose voucher mail a dead worker left "queued" half an hour ago."""
    with scope(organizer=event.organizer), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        record = GrantMail.objects.get(grant=approved_grant, kind=GrantMail.KIND_VOUCHER)
        OutgoingMail.objects.filter(pk=record.outgoing_mail_id).update(
            status=OutgoingMail.STATUS_QUEUED, created=now() - timedelta(minutes=30), sent=None)
    djmail.outbox = []
    return record


def test_cron_runs_every_periodic_receiver_of_the_plugin_without_a_scope(stalled_voucher_mail):
    cache.clear()  # pretix's minimum_interval: every receiver is due
    with committed():
        results = plugin_results(periodic_task.send_robust(sender=None))

    assert 'pretix_grants.signals.resend_stalled_mails' in results
    failed = {name: value for name, value in results.items() if isinstance(value, Exception)}
    assert failed == {}
    # the sweep really ran: the stalled voucher mail reached the grantee
    [m] = mails_to('ada@example.org')
    with scopes_disabled():
        assert Grant.objects.get(pk=stalled_voucher_mail.grant_id).voucher.code in m.body
        assert OutgoingMail.objects.get(pk=stalled_voucher_mail.outgoing_mail_id).status == OutgoingMail.STATUS_SENT


def receivers_of(signal):
    """The plugin's receivers connected to ``signal`` (Django keeps them as weak references)."""
    found = []
    for entry in getattr(signal, 'receivers', None) or []:
        receiver = entry[1]
        receiver = receiver() if isinstance(receiver, weakref.ReferenceType) else receiver
        if receiver is not None and getattr(receiver, '__module__', '').startswith('pretix_grants'):
            found.append(receiver)
    return found


def test_every_receiver_of_a_pretix_signal_runs_with_no_scope_active(stalled_voucher_mail, event, item, organizer):
    """Each of the plugin's receivers of pretix's signals, called as a task, a shell or cron would: no scope."""
    with scopes_disabled():
        grant = Grant.objects.select_related('voucher__event').get(pk=stalled_voucher_mail.grant_id)
        voucher = grant.voucher
        other = organizer.events.create(name='Copy', slug='copy', currency='EUR', date_from=now(),
                                        plugins='pretix_grants')
    calls = {
        signals.mail_placeholders: {},
        signals.permission_groups: {},
        signals.webhook_events: {},
        signals.lifecycle_dashboard_widget: {'lazy': True},
        signals.control_data_exporter: {},
        signals.data_shredder: {},
        letter_signals.letters_data_exporter: {},
        letter_signals.letters_data_shredder: {},
        letter_signals.letters_webhook_events: {},
        claim_signals.claim_mail_placeholders: {},
        claim_signals.claim_webhook_events: {},
        claim_signals.claim_data_shredder: {},
        speaker_signals.speakers_data_shredder: {},
        ticket_signals.placeholders: {},
        signals.control_event_copy_data: {'other': event},
    }
    called = set()
    with committed():
        for receiver, kwargs in calls.items():
            sender = other if receiver is signals.control_event_copy_data else event
            receiver(sender=sender, **kwargs)
            called.add(receiver)
        # Django's model signals on pretix's Voucher, as a shell's save and delete send them
        voucher.max_usages = 2
        signals.voucher_terms_before(Voucher, voucher)
        signals.voucher_changed(Voucher, voucher)
        voucher.max_usages = 1
        signals.voucher_deleted(Voucher, voucher)
        called |= {signals.voucher_terms_before, signals.voucher_changed, signals.voucher_deleted}
        # periodic receivers as runperiodic calls them
        cache.clear()
        for receiver in receivers_of(periodic_task):
            assert not isinstance(receiver(signal=periodic_task, sender=None), Exception)
            called.add(receiver)

    # the receivers needing a request, an order or a check-in are run through pretix's flows in test_pretix_flows.py
    needs_a_flow = {signals.lifecycle_order, signals.lifecycle_checkin_created, signals.control_nav_event,
                    signals.front_page_apply, letter_signals.letters_order_info,
                    letter_signals.letters_order_ended}  # tests/trust/test_letters_follow.py: pretix's cancel_order
    wired = {r for module in (pretix_signals, control_signals, presale_signals, api_signals)
             for name in dir(module) for r in receivers_of(getattr(module, name))}
    assert len(wired) >= 20
    assert {r.__name__ for r in wired} - {r.__name__ for r in called | needs_a_flow} == set()
