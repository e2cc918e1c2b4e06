"""
Mail to grantees: the one place that renders and sends it, always through pretix's own ``mail()``.

Templates are event settings (``defaults.py``), rendered in the grant's locale with pretix's placeholders plus
the ones below. Every mail is recorded as a ``GrantMail`` pointing at pretix's ``OutgoingMail``, whose status
(queued, sent, awaiting retry, failed) is the truth about delivery; pretix retries and lists it like any other.
"""
import logging
import re
from decimal import Decimal

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from i18nfield.strings import LazyI18nString
from pretix.base.i18n import LazyCurrencyNumber, language
from pretix.base.models import Event, OutgoingMail
from pretix.base.services.mail import mail, mail_send_task
from pretix.base.services.placeholders import (
    PlaceholderContext, SimpleFunctionalTextPlaceholder,
)
from pretix.helpers import OF_SELF
from pretix.multidomain.urlreverse import eventreverse_absolute

from . import logentries
from .models import GrantMail

logger = logging.getLogger(__name__)
SAMPLE_CODE = 'GRANT7QK2M9XR'
# owed mails per transaction and per worker task: small enough to spread over the workers
MAIL_CHUNK = 25
PLACEHOLDER = re.compile(r'\{([A-Za-z0-9_]+)\}')


def _event_url(event, name, **kwargs):
    """
    ``eventreverse_absolute``, worked out once per event object and URL: each call looks up the event's domains
    (a few milliseconds), and a batch of mails needs the same URL for every grant.
    """
    urls = event.__dict__.setdefault('_grants_urls', {})
    key = (name, tuple(sorted(kwargs.items())))
    if key not in urls:
        urls[key] = eventreverse_absolute(event, name, kwargs=kwargs or None)
    return urls[key]


def reply_url(grant):
    # reversed once per event with a marker, then the grant's own secret (URL-safe, so nothing to quote) put in
    marker = 'GRANTSECRETMARKER'
    return _event_url(grant.event, 'plugins:pretix_grants:reply', secret=marker).replace(marker, grant.secret)


def redeem_url(event, code):
    return _event_url(event, 'presale:event.redeem') + '?voucher=' + code


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


def _texts(value):
    """Every language's text of a template, so the placeholders used in any of them are known."""
    data = getattr(value, 'data', value)
    if isinstance(data, dict):
        return [str(v) for v in data.values() if v]
    return [str(data or '')]


class Mailer:
    """
    One of the plugin's mails for one event, ready to go to many grants: the template, the placeholders it uses
    and their event-wide values are looked up once. pretix's ``PlaceholderContext`` asks every plugin for its
    placeholders each time one is made, and ``get_email_context`` renders all of them, some with queries.
    """

    def __init__(self, event, key):
        self.event, self.key = event, key
        self.subject, self.text = template(event, key)
        used = {name for t in (self.subject, self.text, event.settings.mail_text_signature)
                for text in _texts(t) for name in PLACEHOLDER.findall(text)}
        available = PlaceholderContext(event=event, grant=None).placeholders
        self.placeholders = {name: p for name, p in available.items() if name in used}
        self.event_wide = {}  # locale -> values that do not depend on the grant

    def _render(self, placeholder, args):
        try:
            return placeholder.render(args)
        except Exception:  # as pretix's PlaceholderContext does: one broken placeholder must not stop the mail
            logger.exception('Failed to process template placeholder %s.', placeholder.identifier)
            return '(error)'

    def values(self, grant):
        """The placeholder values for ``grant``; call in the grant's language."""
        args = {'event': self.event, 'grant': grant}
        if grant.locale not in self.event_wide:
            self.event_wide[grant.locale] = {name: self._render(p, args) for name, p in self.placeholders.items()
                                             if 'grant' not in p.required_context}
        values = dict(self.event_wide[grant.locale])
        values.update((name, self._render(p, args)) for name, p in self.placeholders.items()
                      if 'grant' in p.required_context)
        return values

    def mail(self, grant):
        """Hand the mail for ``grant`` to pretix's ``mail()``; returns its ``OutgoingMail``."""
        with language(grant.locale, self.event.settings.region):
            return mail(grant.email, self.subject, self.text, self.values(grant), self.event, grant.locale)


class Batch:
    """
    Mail records and log entries of a batch, written with one bulk insert each by ``save``, in the caller's
    transaction.
    """

    def __init__(self):
        self.records, self.logs = [], []

    def save(self):
        GrantMail.objects.bulk_create(self.records, batch_size=500)
        logentries.save(self.logs)
        self.records, self.logs = [], []


def _log_sent(grant, kind, template_key, outgoing, *, user=None, auth=None, save=True):
    return grant.log_action('pretix_grants.grant.mail.sent', data={
        'kind': kind,
        'template': template_key,
        'subject': outgoing.subject if outgoing else None,
        'outgoing_mail': outgoing.pk if outgoing else None,
    }, user=user, auth=auth, save=save)


def send(grant, kind, template_key, *, user=None, auth=None):
    """Render ``template_key`` for ``grant``, hand it to pretix's mail system and record it on the grant."""
    outgoing = Mailer(grant.event, template_key).mail(grant)
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


def deliver_owed(record_ids, *, skip_locked=False):
    """
    Hand owed mails to pretix, each exactly once: the records' row locks and their ``pending`` flag decide. They
    go in one transaction (one lock, one update, one insert of log entries for all), and should that fail, one
    at a time, so one broken mail never holds back the rest; the first error is raised after the others went.
    A grant that no longer holds its voucher (refused or cancelled meanwhile) is owed nothing, and the record
    goes. Returns the records delivered: none for those already delivered or, with ``skip_locked``, being
    delivered by another process right now.
    """
    ids = list(record_ids)
    try:
        return _deliver(ids, skip_locked)
    except Exception:
        if len(ids) < 2:
            raise
        logger.exception('Delivering %d owed grant mails at once failed; trying one at a time', len(ids))
    delivered, error = [], None
    for pk in ids:
        try:
            delivered += _deliver([pk], skip_locked)
        except Exception as e:
            logger.exception('Delivering owed grant mail %s failed', pk)
            error = error or e
    if error:
        raise error
    return delivered


def _deliver(ids, skip_locked):
    with transaction.atomic():
        records = list(GrantMail.objects.select_for_update(of=OF_SELF, skip_locked=skip_locked)
                       .select_related('grant', 'grant__voucher').filter(pk__in=ids, pending=True).order_by('pk'))
        if not records:
            return []
        events = Event.objects.select_related('organizer').in_bulk({r.grant.event_id for r in records})
        mailers, gone, delivered, logs = {}, [], [], []
        for record in records:
            grant = record.grant
            grant.event = events[grant.event_id]
            if record.kind == GrantMail.KIND_VOUCHER and not grant.holds_voucher():
                gone.append(record.pk)
                continue
            key = OWED_TEMPLATES[record.kind]
            if (grant.event_id, key) not in mailers:
                mailers[grant.event_id, key] = Mailer(grant.event, key)
            mailer = mailers[grant.event_id, key]
            record.outgoing_mail = mailer.mail(grant)
            record.pending = False
            delivered.append(record)
            logs.append(_log_sent(grant, record.kind, key, record.outgoing_mail, save=False))
        if gone:
            GrantMail.objects.filter(pk__in=gone).delete()
        GrantMail.objects.bulk_update(delivered, ['outgoing_mail', 'pending'])
        logentries.save(logs)
    return delivered


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
    if not grant.holds_voucher():
        raise ValueError(str(_('This grant has no voucher to send.')))
    return send_voucher(grant, user=user, auth=auth)


def deliver_pending(grant_ids, chunk=MAIL_CHUNK):
    """
    Deliver the owed mails of these grants in this process, alongside the workers that were queued for them:
    whoever locks a record first sends it, the others pass it by. Returns how many this process sent.
    """
    ids = list(GrantMail.objects.filter(grant_id__in=list(grant_ids), pending=True).order_by('pk')
               .values_list('pk', flat=True))
    return sum(len(deliver_owed(ids[start:start + chunk], skip_locked=True)) for start in range(0, len(ids), chunk))


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
