"""
Mail to grantees: the one place that renders and sends it, always through pretix's own ``mail()``.

Templates are event settings (``defaults.py``), rendered in the grant's locale with pretix's placeholders plus
the ones below. Every mail is recorded as a ``GrantMail`` pointing at pretix's ``OutgoingMail``, whose status
(queued, sent, awaiting retry, failed) is the truth about delivery; pretix retries and lists it like any other.
"""
import json
import logging
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from i18nfield.strings import LazyI18nString
from pretix.base.i18n import LazyCurrencyNumber, language
from pretix.base.models import Event, LogEntry, OutgoingMail
from pretix.base.services.mail import _is_queue_long, mail, mail_send_task
from pretix.base.services.placeholders import (
    PlaceholderContext, SimpleFunctionalTextPlaceholder,
)
from pretix.helpers import OF_SELF
from pretix.multidomain.urlreverse import eventreverse_absolute

from . import defaults, logentries
from .models import Grant, GrantMail

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


def redeem_url(event, code, locale=None):
    """
    The shop's voucher page with the code filled in. With ``locale``, the link goes through pretix's language
    switcher (``/locale/set``, which sets the shop's language cookie) so the grantee reads the shop in the language
    of their mail or page.
    """
    url = _event_url(event, 'presale:event.redeem') + '?voucher=' + code
    if not locale:
        return url
    parts = urlsplit(url)
    query = urlencode({'locale': locale, 'next': parts.path + '?' + parts.query})
    return urlunsplit((parts.scheme, parts.netloc, reverse('presale:locale.set'), query, ''))


def format_moment(event, moment):
    """A date and time as a grantee reads it: in the active language's format, in the event's time zone, named."""
    return '{} ({})'.format(date_format(moment.astimezone(event.timezone), 'SHORT_DATETIME_FORMAT'), event.timezone)


def format_deadline(grant):
    if not grant.reply_deadline:
        return ''
    return format_moment(grant.event, grant.reply_deadline)


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
            lambda event: format_moment(event, event.date_from),
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
            lambda event, grant: redeem_url(event, grant.voucher.code, grant.locale) if grant.voucher else '',
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


# Mails the sweep sent again (``resend_stalled``): the log entries that record it, on the grant.
RESENT = 'pretix_grants.grant.mail.resent'
RESENT_MAYBE_TWICE = 'pretix_grants.grant.mail.resent_maybe_twice'


def stalled_after():
    """A grant mail still queued or being sent after this long is sent again; pretix.cfg ``[grants]``."""
    return timedelta(seconds=settings.CONFIG_FILE.getint(
        'grants', 'stalled_mail_seconds', fallback=defaults.stalled_mail_seconds(settings.EMAIL_TIMEOUT)))


def _stalled(cutoff):
    """Grant mails handed to pretix whose sending has stopped: nothing happened to them since ``cutoff``."""
    mail_q = (
        Q(outgoing_mail__status=OutgoingMail.STATUS_QUEUED, outgoing_mail__created__lt=cutoff)
        | Q(outgoing_mail__status=OutgoingMail.STATUS_INFLIGHT, outgoing_mail__inflight_since__lt=cutoff)
        # a retry whose task died with its worker: pretix's own sweep looks only after an hour
        | Q(outgoing_mail__status=OutgoingMail.STATUS_AWAITING_RETRY, outgoing_mail__retry_after__lt=cutoff)
    )
    records = list(GrantMail.objects.filter(mail_q, pending=False).select_related('grant', 'outgoing_mail')
                   .order_by('pk'))
    if not records:
        return []
    # sent again recently: that send gets its time before the next one
    recent = set()
    for data in LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Grant), object_id__in={r.grant_id for r in records},
            action_type__in=(RESENT, RESENT_MAYBE_TWICE), datetime__gte=cutoff).values_list('data', flat=True):
        recent.add(json.loads(data or '{}').get('outgoing_mail'))
    return [r for r in records if r.outgoing_mail_id not in recent]


def resend_stalled():
    """
    The sweep that gets every grant mail out within minutes of a crash, rather than after the hour pretix's own
    sweep and the broker's visibility timeout take. Run by the periodic task (``runperiodic``, no scope active):

    * mails owed (``owe_voucher``) and still not handed to pretix after ``stalled_after()`` are handed over here;
    * mails handed to pretix whose ``OutgoingMail`` has been "queued" or "being sent" for longer, or whose retry was
      due that long ago, go to pretix's ``mail_send_task`` again, as pretix's sweep of stuck mails does it, once
      per sweep and then not again for ``stalled_after()``; each is logged on the grant, which shows "delayed,
      resent at ...".

    The rule asks no worker anything. pretix's ``mail_send_task`` locks the mail's row and sends only a mail that is
    "queued" or "awaiting retry", so another task for such a mail can never send it twice, however late the first
    one runs. A mail "being sent" carries ``inflight_since``, the lease pretix's task writes when it starts sending;
    a live send ends within a few SMTP timeouts, and ``stalled_after()`` is five of them: a lease older than that
    belongs to a worker that is gone. Only such a mail may have reached the server before its worker died, so
    sending it again can deliver it twice, and the log entry on the grant says so. A broker or database error on
    one mail is logged and the sweep goes on with the rest. Mail is delivered at least once; vouchers exactly once.
    Returns ``(owed mails handed over, mails sent again)``.
    """
    with scopes_disabled():  # cron runs it with no scope; it looks at the grant mails of every event
        return _sweep(now() - stalled_after())


def _sweep(cutoff):
    owed = list(GrantMail.objects.filter(pending=True, created__lt=cutoff).order_by('pk').values_list('pk', flat=True))
    handed = 0
    for start in range(0, len(owed), MAIL_CHUNK):
        try:
            handed += len(deliver_owed(owed[start:start + MAIL_CHUNK], skip_locked=True))
        except Exception:  # logged by deliver_owed; the next sweep tries again, the rest go now
            pass

    records = _stalled(cutoff)
    try:
        long_queue = records and any(r.outgoing_mail.status != OutgoingMail.STATUS_INFLIGHT for r in records) \
            and _is_queue_long()
    except Exception:  # the broker does not answer: send them anyway, the row lock keeps each mail single
        logger.exception('The length of the mail queue could not be read')
        long_queue = False
    if long_queue:
        # as pretix's own sweep: a long mail queue will reach these, more tasks would only lengthen it
        logger.info('The mail queue is long: stalled queued grant mails are left for it.')
        records = [r for r in records if r.outgoing_mail.status == OutgoingMail.STATUS_INFLIGHT]
    resent = 0
    for record in records:
        try:
            resent += _resend(record, cutoff)
        except Exception:  # one broken mail or a broker error must not stop the others
            logger.exception('Sending stalled grant mail %s again failed', record.pk)
    return handed, resent


def _resend(record, cutoff):
    seen = record.outgoing_mail
    with transaction.atomic():
        om = OutgoingMail.objects.select_for_update(of=OF_SELF, skip_locked=True).filter(pk=seen.pk).first()
        # changed meanwhile (a live task moved it on, or another sweep took it): not stalled after all
        if om is None or (om.status, om.created, om.inflight_since, om.retry_after) != (
                seen.status, seen.created, seen.inflight_since, seen.retry_after):
            return False
        was = om.status
        if was == OutgoingMail.STATUS_INFLIGHT:
            om.status = OutgoingMail.STATUS_QUEUED  # mail_send_task passes over rows being sent
            om.save(update_fields=['status'])
        since = {OutgoingMail.STATUS_QUEUED: om.created, OutgoingMail.STATUS_INFLIGHT: om.inflight_since,
                 OutgoingMail.STATUS_AWAITING_RETRY: om.retry_after}[was]
        record.grant.log_action(RESENT_MAYBE_TWICE if was == OutgoingMail.STATUS_INFLIGHT else RESENT, data={
            'kind': record.kind,
            'outgoing_mail': om.pk,
            'subject': om.subject,
            'status': was,
            'since': since.isoformat(),
        })
        logger.warning('Grant mail %s (outgoing mail %s) was %s since %s: sent again', record.pk, om.pk, was, since)
        # pretix's task queues itself after this commit
        mail_send_task.apply_async(kwargs={'outgoing_mail': om.pk})
    return True


def resends(grant):
    """
    When the sweep sent each of ``grant``'s mails again: ``{outgoing mail pk: [(when, maybe twice), ...]}``, for
    the grant's page.
    """
    result = {}
    for entry in LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Grant), object_id=grant.pk,
            action_type__in=(RESENT, RESENT_MAYBE_TWICE)).order_by('datetime', 'pk'):
        result.setdefault(entry.parsed_data.get('outgoing_mail'), []).append(
            (entry.datetime, entry.action_type == RESENT_MAYBE_TWICE))
    return result


def send_letter(letter, key, values, *, attach=None, user=None, auth=None):
    """
    A mail about a visa invitation letter (letters.py), in the requester's language. ``values`` fill the template's
    placeholders; none of them is passport data, so neither the mail nor pretix's record of it holds any. ``attach``
    lists files on the default storage (the letter's PDF).
    """
    event = letter.event
    subject, text = template(event, key)
    with language(letter.locale, event.settings.region):
        outgoing = mail(letter.email, subject, text, {'event': str(event.name), **values}, event, letter.locale,
                        attach_other_files=attach or None)
    letter.log_action('pretix_grants.letter.mail.sent', data={
        'template': key, 'outgoing_mail': outgoing.pk if outgoing else None,
    }, user=user, auth=auth)
    return outgoing


def send_claim(grant, template_key, *, user=None, auth=None):
    """A claim's mail (``claim_submitted``, ``claim_approved``, ...); it never holds receipts or payout details."""
    return send(grant, GrantMail.KIND_CLAIM, template_key, user=user, auth=auth)
