"""
Mail to grantees: the one place that renders and sends it, always through pretix's own ``mail()``.

Templates are event settings (``defaults.py``), rendered in the grant's locale with pretix's placeholders plus
the ones below. Every mail is recorded as a ``GrantMail`` pointing at pretix's ``OutgoingMail``, whose status
(queued, sent, awaiting retry, failed) is the truth about delivery; pretix retries and lists it like any other.
"""
import re
from decimal import Decimal

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from i18nfield.strings import LazyI18nString
from pretix.base.i18n import LazyCurrencyNumber, language
from pretix.base.models import OutgoingMail
from pretix.base.services.mail import mail, mail_send_task
from pretix.base.services.placeholders import (
    PlaceholderContext, SimpleFunctionalTextPlaceholder,
)
from pretix.helpers import OF_SELF
from pretix.multidomain.urlreverse import eventreverse_absolute

from .models import Grant, GrantMail

SAMPLE_CODE = 'GRANT7QK2M9XR'
PLACEHOLDER = re.compile(r'\{([A-Za-z0-9_]+)\}')


def reply_url(grant):
    return eventreverse_absolute(grant.event, 'plugins:pretix_grants:reply', kwargs={'secret': grant.secret})


def redeem_url(event, code):
    return eventreverse_absolute(event, 'presale:event.redeem') + '?voucher=' + code


def format_deadline(grant):
    if not grant.reply_deadline:
        return ''
    return date_format(grant.reply_deadline.astimezone(grant.event.timezone), 'SHORT_DATETIME_FORMAT')


def format_amounts(event, grant=None):
    """One line per thing granted, e.g. "- Free ticket" and "- Travel: €300.00"."""
    lines = []
    if grant is None or grant.ticket:
        lines.append('- ' + str(_('Free ticket')))
    amounts = grant.amounts if grant else {'travel': Decimal('300.00')}
    labels = {'travel': _('Travel'), 'accommodation': _('Accommodation'), 'other': _('Other')}
    for key, value in amounts.items():
        if value:
            lines.append(f'- {labels[key]}: {LazyCurrencyNumber(value, event.currency)}')
    return '\n'.join(lines)


def _amount(key):
    return SimpleFunctionalTextPlaceholder(
        f'{key}_amount', ['event', 'grant'],
        lambda event, grant: str(LazyCurrencyNumber(grant.amounts[key], event.currency)),
        lambda event: str(LazyCurrencyNumber(Decimal('300.00'), event.currency)),
    )


def placeholders():
    """The plugin's mail placeholders, registered through pretix's ``register_mail_placeholders``."""
    return [
        SimpleFunctionalTextPlaceholder('name', ['grant'], lambda grant: grant.name, _('Jane Doe')),
        SimpleFunctionalTextPlaceholder(
            'reply_url', ['event', 'grant'], lambda event, grant: reply_url(grant),
            lambda event: eventreverse_absolute(event, 'plugins:pretix_grants:reply', kwargs={'secret': 'S3CR3T'}),
        ),
        SimpleFunctionalTextPlaceholder(
            'reply_deadline', ['event', 'grant'], lambda event, grant: format_deadline(grant),
            lambda event: date_format(event.date_from.astimezone(event.timezone), 'SHORT_DATETIME_FORMAT'),
        ),
        SimpleFunctionalTextPlaceholder(
            'granted_amounts', ['event', 'grant'], lambda event, grant: format_amounts(event, grant),
            lambda event: format_amounts(event),
        ),
        _amount('travel'),
        _amount('accommodation'),
        _amount('other'),
        SimpleFunctionalTextPlaceholder(
            'voucher_code', ['grant'], lambda grant: grant.voucher.code if grant.voucher else '', SAMPLE_CODE,
        ),
        SimpleFunctionalTextPlaceholder(
            'redeem_url', ['event', 'grant'],
            lambda event, grant: redeem_url(event, grant.voucher.code) if grant.voucher else '',
            lambda event: redeem_url(event, SAMPLE_CODE),
        ),
    ]


def template(event, key):
    s = event.settings
    return (s.get(f'grants_mail_{key}_subject', as_type=LazyI18nString),
            s.get(f'grants_mail_{key}_text', as_type=LazyI18nString))


def context(event, grant, *texts):
    """
    pretix's placeholder values for ``grant``, but only those ``texts`` use: pretix's ``get_email_context``
    renders every placeholder there is, and some of them cost queries.
    """
    ctx = PlaceholderContext(event=event, grant=grant)
    used = {name for t in texts for name in PLACEHOLDER.findall(str(t))}
    return {name: ctx.render_placeholder(p) for name, p in ctx.placeholders.items() if name in used}


class Batch:
    """
    Mail records and log entries of a batch, written with one bulk insert each by ``save``, in the caller's
    transaction.
    """

    def __init__(self):
        self.records, self.logs = [], []

    def save(self):
        from pretix.base.models import LogEntry

        GrantMail.objects.bulk_create(self.records, batch_size=500)
        LogEntry.bulk_create_and_postprocess(self.logs)
        self.records, self.logs = [], []


def _mail(grant, template_key):
    event = grant.event
    subject, text = template(event, template_key)
    with language(grant.locale, event.settings.region):
        values = context(event, grant, subject, text, event.settings.mail_text_signature)
        return mail(grant.email, subject, text, values, event, grant.locale)


def _log_sent(grant, kind, template_key, outgoing, *, user=None, auth=None, save=True):
    return grant.log_action('pretix_grants.grant.mail.sent', data={
        'kind': kind,
        'template': template_key,
        'subject': outgoing.subject if outgoing else None,
        'outgoing_mail': outgoing.pk if outgoing else None,
    }, user=user, auth=auth, save=save)


def send(grant, kind, template_key, *, user=None, auth=None):
    """Render ``template_key`` for ``grant``, hand it to pretix's mail system and record it on the grant."""
    outgoing = _mail(grant, template_key)
    record = GrantMail.objects.create(grant=grant, kind=kind, outgoing_mail=outgoing)
    _log_sent(grant, kind, template_key, outgoing, user=user, auth=auth)
    return record


# the mails that can be owed, and their templates
OWED_TEMPLATES = {GrantMail.KIND_VOUCHER: 'voucher'}


def owe_voucher(grant, batch):
    """
    Record, in the caller's transaction, that ``grant`` is owed its voucher mail; ``deliver_owed`` renders and
    queues it after commit. The record is the promise: it commits with the voucher or not at all.
    """
    record = GrantMail(grant=grant, kind=GrantMail.KIND_VOUCHER, pending=True)
    batch.records.append(record)
    return record


def deliver_owed(record_id, *, skip_locked=False):
    """
    Hand an owed mail to pretix, exactly once: the record's row lock and its ``pending`` flag decide. A grant
    that no longer holds its voucher (refused or cancelled meanwhile) is owed nothing, and the record goes.
    Returns the record, or ``None`` if nothing was owed (or, with ``skip_locked``, another process has it now).
    """
    with transaction.atomic():
        record = (GrantMail.objects.select_for_update(of=OF_SELF, skip_locked=skip_locked)
                  .select_related('grant', 'grant__event', 'grant__event__organizer', 'grant__voucher')
                  .filter(pk=record_id, pending=True).first())
        if record is None:
            return None
        grant = record.grant
        if record.kind == GrantMail.KIND_VOUCHER and (
                grant.voucher_state not in Grant.VOUCHER_STATES_DONE or not grant.voucher_id):
            record.delete()
            return None
        key = OWED_TEMPLATES[record.kind]
        record.outgoing_mail = _mail(grant, key)
        record.pending = False
        record.save(update_fields=['outgoing_mail', 'pending'])
        _log_sent(grant, record.kind, key, record.outgoing_mail)
    return record


def send_decision(grant, *, user=None, auth=None):
    return send(grant, GrantMail.KIND_DECISION, f'decision_{grant.status}', user=user, auth=auth)


def send_voucher(grant, *, user=None, auth=None):
    return send(grant, GrantMail.KIND_VOUCHER, 'voucher', user=user, auth=auth)


def send_received(grant, *, user=None, auth=None):
    return send(grant, GrantMail.KIND_RECEIVED, 'received', user=user, auth=auth)


def send_reminder(grant, *, user=None, auth=None):
    return send(grant, GrantMail.KIND_REMINDER, 'reminder', user=user, auth=auth)


def resend_voucher(grant, *, user=None, auth=None):
    """The voucher mail again, same code; only for a grant that holds its voucher."""
    if grant.voucher_state not in Grant.VOUCHER_STATES_DONE or not grant.voucher_id:
        raise ValueError(str(_('This grant has no voucher to send.')))
    return send_voucher(grant, user=user, auth=auth)


def deliver_pending(grant_ids):
    """
    Deliver the owed mails of these grants in this process, alongside the workers that were queued for them:
    whoever locks a record first sends it, the others pass it by. Returns how many this process sent.
    """
    ids = list(GrantMail.objects.filter(grant_id__in=list(grant_ids), pending=True).order_by('pk')
               .values_list('pk', flat=True))
    return sum(1 for pk in ids if deliver_owed(pk, skip_locked=True))


def retry(record: GrantMail):
    """Send a failed mail again, the way pretix's outgoing-mail view retries it."""
    om = record.outgoing_mail
    if not om or om.status not in OutgoingMail.STATUS_LIST_RETRYABLE:
        return False
    with transaction.atomic():
        OutgoingMail.objects.filter(pk=om.pk, status__in=OutgoingMail.STATUS_LIST_RETRYABLE).update(
            status=OutgoingMail.STATUS_QUEUED, sent=None,
        )
        record.grant.log_action('pretix_grants.grant.mail.retried', data={'kind': record.kind, 'outgoing_mail': om.pk})
    mail_send_task.apply_async(kwargs={'outgoing_mail': om.pk})
    return True
