import socket
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.test import override_settings
from django_scopes import scopes_disabled
from i18nfield.strings import LazyI18nString
from pretix.base.models import OutgoingMail
from pretix.base.services.mail import mail_send_task

from pretix_grants import mails, workflow
from pretix_grants.models import Grant, GrantMail

from .conftest import committed, event_scope, mails_to


def closed_port():
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_decision_mail_has_every_placeholder_filled(make_grant, grant_settings, event):
    grant = make_grant(Grant.STATUS_PENDING, name='Grace Hopper', email='grace@example.org',
                       travel_amount=Decimal('300.00'), accommodation_amount=Decimal('120.50'))
    with event_scope(event):  # as the control panel stages and publishes
        workflow.stage_decision(grant, Grant.STATUS_APPROVED)
        workflow.publish(grant)

    [m] = mails_to('grace@example.org')
    assert m.subject == 'Your grant for PyConf 2027: please confirm'
    assert 'Hello Grace Hopper,' in m.body
    assert '- Free ticket' in m.body
    assert '- Travel: €300.00' in m.body
    assert '- Accommodation: €120.50' in m.body
    assert 'Other' not in m.body
    assert f'http://example.com/pyconf/2027/grant/{grant.secret}/' in m.body
    grant.refresh_from_db()
    assert mails.format_deadline(grant) in m.body
    assert '{' not in m.body
    with scopes_disabled():
        assert grant.mails.get().kind == GrantMail.KIND_DECISION


@pytest.mark.django_db
@pytest.mark.parametrize('decision,subject', [
    (Grant.STATUS_WAITING_LIST, 'Your grant application for PyConf 2027: waiting list'),
    (Grant.STATUS_REJECTED, 'Your grant application for PyConf 2027'),
])
def test_other_decisions_have_their_own_mail(decision, subject, make_grant, grant_settings):
    grant = make_grant(email='x@example.org')
    with event_scope(grant.event):
        workflow.stage_decision(grant, decision)
        workflow.publish(grant)
    [m] = mails_to('x@example.org')
    assert m.subject == subject


@pytest.mark.django_db
def test_mail_is_in_the_grantees_language(make_grant, grant_settings, event):
    event.settings.grants_mail_decision_approved_subject = LazyI18nString({
        'en': 'Your grant', 'de': 'Dein Stipendium für {event}',
    })
    event.settings.grants_mail_decision_approved_text = LazyI18nString({
        'en': 'Hello {name}', 'de': 'Hallo {name}, bitte antworte bis {reply_deadline}.',
    })
    grant = make_grant(email='jonas@example.org', name='Jonas', locale='de')
    with event_scope(event):
        workflow.stage_decision(grant, Grant.STATUS_APPROVED)
        workflow.publish(grant)
    [m] = mails_to('jonas@example.org')
    assert m.subject == 'Dein Stipendium für PyConf 2027'
    assert 'Hallo Jonas, bitte antworte bis' in m.body


@pytest.mark.django_db
def test_html_in_names_is_escaped_in_the_html_mail(make_grant, grant_settings):
    grant = make_grant(email='evil@example.org', name='<script>alert(1)</script>')
    with event_scope(grant.event):
        workflow.stage_decision(grant, Grant.STATUS_APPROVED)
        workflow.publish(grant)
    with scopes_disabled():
        html = grant.mails.get().outgoing_mail.body_html
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in html
    assert '<script>alert(1)' not in html


@pytest.mark.django_db
def test_sample_placeholders_render_for_previews(event):
    with event_scope(event):  # as pretix's mail settings page previews them
        rendered = {p.identifier: str(p.render_sample(event)) for p in mails.placeholders()}
    assert set(rendered) >= {'name', 'reply_url', 'reply_deadline', 'granted_amounts', 'voucher_code', 'redeem_url',
                             'travel_amount', 'accommodation_amount', 'other_amount'}
    assert 'voucher=' in rendered['redeem_url']


@pytest.mark.django_db
def test_failing_mail_server_keeps_the_voucher_records_the_failure_and_a_retry_sends_it(approved_grant, event):
    with override_settings(EMAIL_BACKEND='django.core.mail.backends.smtp.EmailBackend',
                           EMAIL_HOST='127.0.0.1', EMAIL_PORT=closed_port(), EMAIL_TIMEOUT=2):
        with event_scope(event), committed():  # as the grantee's reply page confirms
            workflow.confirm(approved_grant)

    approved_grant.refresh_from_db()
    with scopes_disabled():
        v = event.vouchers.get()
        record = approved_grant.mails.get(kind=GrantMail.KIND_VOUCHER)
    assert approved_grant.voucher == v
    assert approved_grant.voucher_state == Grant.VOUCHER_ISSUED
    record.outgoing_mail.refresh_from_db()
    assert record.status in (OutgoingMail.STATUS_AWAITING_RETRY, OutgoingMail.STATUS_FAILED)
    assert record.outgoing_mail.error
    assert djmail.outbox == []

    # the server is back: pretix's own retry of the same outgoing mail delivers it, with the same code
    if record.status == OutgoingMail.STATUS_FAILED:
        with event_scope(event), committed():  # the retry button on the grant's page
            assert mails.retry(record)
    else:
        with committed():  # pretix's worker, with no scope
            mail_send_task.apply(kwargs={'outgoing_mail': record.outgoing_mail.pk})
    record.outgoing_mail.refresh_from_db()
    assert record.status == OutgoingMail.STATUS_SENT
    [m] = mails_to('ada@example.org')
    assert v.code in m.body
    with scopes_disabled():
        assert event.vouchers.count() == 1


@pytest.mark.django_db
def test_permanently_failed_mail_can_be_retried(approved_grant, event):
    with event_scope(event), committed():
        workflow.confirm(approved_grant)
    with scopes_disabled():
        record = approved_grant.mails.get()
        OutgoingMail.objects.filter(pk=record.outgoing_mail_id).update(status=OutgoingMail.STATUS_FAILED)
    djmail.outbox = []
    record.refresh_from_db()

    with event_scope(event), committed():  # the retry button on the grant's page
        assert mails.retry(record)
    record.outgoing_mail.refresh_from_db()
    assert record.status == OutgoingMail.STATUS_SENT
    assert len(mails_to('ada@example.org')) == 1
    with event_scope(event):
        assert not mails.retry(record)  # sent mails are not sent again by a retry
    assert len(mails_to('ada@example.org')) == 1


@pytest.mark.django_db
def test_resending_the_voucher_mail_uses_the_same_code(approved_grant, event):
    with event_scope(event), committed():
        workflow.confirm(approved_grant)
    approved_grant.refresh_from_db()
    with event_scope(event):  # the grant page's "send again"
        mails.resend_voucher(approved_grant)
    bodies = [m.body for m in mails_to('ada@example.org')]
    with scopes_disabled():
        code = event.vouchers.get().code
        assert event.vouchers.count() == 1
    assert len(bodies) == 2 and all(code in b for b in bodies)


@pytest.mark.django_db
def test_resending_without_a_voucher_is_refused(make_grant, grant_settings):
    grant = make_grant(Grant.STATUS_CONFIRMED)
    with event_scope(grant.event), pytest.raises(ValueError):
        mails.resend_voucher(grant)
    assert djmail.outbox == []


@pytest.mark.django_db
def test_new_application_gets_the_received_mail_with_its_link(event):
    with event_scope(event):  # as the application form creates it
        grant = workflow.create_grant(event, name='Radia Perlman', email='radia@example.org')
    [m] = mails_to('radia@example.org')
    assert m.subject == 'We received your grant application for PyConf 2027'
    assert mails.reply_url(grant) in m.body
    with scopes_disabled():
        assert grant.mails.get().kind == GrantMail.KIND_RECEIVED


@pytest.mark.django_db
def test_second_application_with_the_same_email_is_refused_and_sends_nothing(event):
    with event_scope(event):
        first = workflow.create_grant(event, name='Radia Perlman', email='radia@example.org')
    djmail.outbox = []
    with event_scope(event), pytest.raises(workflow.DuplicateGrant) as e:
        workflow.create_grant(event, name='R. Perlman', email='RADIA@example.org')
    assert e.value.existing == first
    assert 'already' in str(e.value)
    with scopes_disabled():
        assert event.grants.count() == 1
    assert djmail.outbox == []
