"""
Visa invitation letters: the one place that decides who may ask for one and moves a request through its states.

A grantee asks on their reply page (if the organizers let grantees ask, for any grant not rejected or cancelled),
a ticket holder on pretix's order page (if the organizers let them). The request waits for the organizers, who
issue the letter (a PDF, ``letters.pdf``) or reject the request with a reason; an issued letter can be withdrawn,
and then its verification page says it is not valid. Confirmed grantees may get theirs at once, if the organizers
want. Each step is logged (with the reference, never passport data) and mailed through pretix's mail system, the
issued letter attached.

The PDF is kept on Django's default storage under ``cachedfiles/``, which pretix's recommended web server
configuration never serves (as for the files pretix keeps there itself), in a folder with a random name: it is
handed out only through the requester's secret page and to the organizers.
"""
import logging
import re
import secrets
import unicodedata

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from pretix.base.models import Order, OutgoingMail
from pretix.helpers import OF_SELF
from pretix.multidomain.urlreverse import eventreverse_absolute

from .. import files, mails
from ..actors import (  # NOQA: F401 (letters' callers name the actor through rules)
    REQUESTER, SYSTEM,
)
from ..models import TICKET_VALID, Grant, KeptLetterFile, LetterRequest
from . import pdf as letter_pdf

logger = logging.getLogger(__name__)

REQUESTED = LetterRequest.STATUS_REQUESTED
APPROVED = LetterRequest.STATUS_APPROVED
REJECTED = LetterRequest.STATUS_REJECTED
CANCELLED = LetterRequest.STATUS_CANCELLED
ACTIVE = (REQUESTED, APPROVED)
# the allowed moves of a request
TRANSITIONS = {
    REQUESTED: (APPROVED, REJECTED, CANCELLED),
    APPROVED: (CANCELLED,),
    REJECTED: (),
    CANCELLED: (),
}
# the data a requester gives; all of it is passport data for the log's and the shredder's purposes
DATA_FIELDS = ('full_name', 'nationality', 'passport_number', 'passport_expiry', 'date_of_birth', 'address',
               'consulate')
GRANT_STATUSES_REFUSED = (Grant.STATUS_REJECTED, Grant.STATUS_CANCELLED)
ORDER_STATUSES = TICKET_VALID  # the order states that count as a ticket, one home: models.TICKET_VALID
PDF_FOLDER = 'cachedfiles/pretix_grants/letters'


class LetterError(Exception):
    pass


def allowed(letter, status):
    return status in TRANSITIONS.get(letter.status, ())


def may_request_for_grant(grant):
    return bool(grant.event.settings.grants_letters_grantees) and grant.status not in GRANT_STATUSES_REFUSED


def may_request_for_order(order):
    return bool(order.event.settings.grants_letters_ticket_holders) and order.status in ORDER_STATUSES


def letters_of(grant=None, order=None):
    qs = LetterRequest.objects.filter(grant=grant) if grant is not None else LetterRequest.objects.filter(order=order)
    return qs.order_by('-created', '-pk')


def can_add(grant=None, order=None):
    """
    Whether one more request may be made: a grantee holds one letter at a time; an order one per admission ticket
    (each attendee may need a visa). A rejected or withdrawn request does not count.
    """
    if grant is not None:
        return may_request_for_grant(grant) and not letters_of(grant=grant).filter(status__in=ACTIVE).exists()
    if not may_request_for_order(order):
        return False
    tickets = max(1, order.positions.filter(item__admission=True).count())
    return letters_of(order=order).filter(status__in=ACTIVE).count() < tickets


def page_url(letter):
    """The requester's page of the letter: under the grant's or the order's secret URL."""
    if letter.grant_id:
        return eventreverse_absolute(letter.event, 'plugins:pretix_grants:letter.grant',
                                     kwargs={'secret': letter.grant.secret})
    return eventreverse_absolute(letter.event, 'plugins:pretix_grants:letter.order',
                                 kwargs={'order': letter.order.code, 'secret': letter.order.secret})


def verify_url(letter):
    return eventreverse_absolute(letter.event, 'plugins:pretix_grants:letter.verify',
                                 kwargs={'reference': letter.reference})


def lock(letter):
    """Re-read the request under its row lock; call inside ``transaction.atomic()``."""
    return LetterRequest.objects.select_for_update(of=OF_SELF).select_related('event', 'grant', 'order').get(
        pk=letter.pk)


def _mail(letter, key, *, reason='', attach=None, user=None, auth=None):
    values = {'name': letter.full_name, 'reference': letter.reference, 'letter_url': page_url(letter),
              'reason': reason}
    try:
        return mails.send_letter(letter, key, values, attach=attach, user=user, auth=auth)
    except Exception:  # the step is done and logged; pretix lists a failed mail, and the page shows the state
        logger.exception('Letter mail %s for request %s could not be queued', key, letter.pk)
        return None


def _log(letter, action, *, data=None, user=None, auth=None):
    letter.log_action(f'pretix_grants.letter.{action}', data={'reference': letter.reference, **(data or {})},
                      user=user, auth=auth)


def request_letter(event, data, *, grant=None, order=None, locale=None, email=None):
    """
    Record a request from a grantee (``grant``) or a ticket holder (``order``) with the form's cleaned ``data``.
    A confirmed grantee's letter is issued at once if the organizers want that.
    """
    with transaction.atomic():
        if grant is not None:
            # one request at a time per grant, also with two tabs: decided under the grant's lock
            grant = Grant.objects.select_for_update(of=OF_SELF).get(pk=grant.pk)
        else:
            order = Order.objects.select_for_update(of=OF_SELF).get(pk=order.pk)
        if not can_add(grant=grant, order=order):
            raise LetterError(_('You cannot request another invitation letter here.'))
        letter = LetterRequest(event=event, grant=grant, order=order,
                               email=email or (grant.email if grant is not None else order.email) or '',
                               locale=locale or (grant.locale if grant is not None else order.locale) or 'en')
        for field in DATA_FIELDS:
            setattr(letter, field, data.get(field))
        letter.save()
        _log(letter, 'requested', data={'requester': 'grant' if grant is not None else 'order'})
        _mail(letter, 'letter_requested')
        if (grant is not None and grant.status == Grant.STATUS_CONFIRMED
                and event.settings.grants_letters_auto_approve and name_matches(letter, grant)):
            _approve(letter, actor=SYSTEM)
    return letter


def _name_key(value):
    """A name compared without case, accents, punctuation or word order ("Żółć, Łukasz" is "lukasz zolc")."""
    decomposed = unicodedata.normalize('NFKD', (value or '').replace('ł', 'l').replace('Ł', 'L')
                                       .replace('ø', 'o').replace('Ø', 'O').replace('đ', 'd').replace('Đ', 'D'))
    plain = ''.join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return sorted(w for w in re.split(r"[\s\-'.,]+", plain) if w)


def name_matches(letter, grant):
    """Automatic approval vouches only for the grant's own person: the letter's name must be the grant's."""
    return bool(_name_key(letter.full_name)) and _name_key(letter.full_name) == _name_key(grant.name)


# the grant statuses and order statuses that end what a letter vouches for: its letters are withdrawn
GRANT_ENDED = (Grant.STATUS_REFUSED, Grant.STATUS_CANCELLED, Grant.STATUS_EXPIRED)


def withdraw_for_ended(letters, reason):
    """Withdraw the requests and issued letters of a grant or an order that ended (logged, mailed)."""
    for letter in letters:
        if allowed(letter, CANCELLED):
            try:
                withdraw(letter, str(reason))
            except LetterError:  # changed meanwhile (withdrawn by an organizer)
                pass


def on_order_ended(order):
    """A cancelled or expired order no longer brings its holder to the event: its letters are withdrawn."""
    withdraw_for_ended(list(LetterRequest.objects.filter(order=order, status__in=(REQUESTED, APPROVED))),
                       _('The order has been cancelled or has expired.'))


def on_grant_status_changed(grant, new_status):
    """
    A grantee who confirms with a request waiting gets the letter at once, if the organizers want that and the
    names match; a grant declined, cancelled or expired withdraws its letters.
    """
    if new_status in GRANT_ENDED:
        withdraw_for_ended(list(LetterRequest.objects.filter(grant=grant, status__in=(REQUESTED, APPROVED))),
                           _('The grant has been declined, cancelled or has expired.'))
        return
    if new_status != Grant.STATUS_CONFIRMED or not grant.event.settings.grants_letters_auto_approve:
        return
    for letter in LetterRequest.objects.filter(grant=grant, status=REQUESTED):
        with transaction.atomic():
            letter = lock(letter)
            if letter.status == REQUESTED and name_matches(letter, grant):
                _approve(letter, actor=SYSTEM)


def approve(letter, *, user=None, auth=None):
    """Issue the letter: render and store the PDF, then mail it."""
    with transaction.atomic():
        letter = lock(letter)
        _approve(letter, user=user, auth=auth)
    return letter


def _approve(letter, *, user=None, auth=None, actor=None):
    if not allowed(letter, APPROVED):
        raise LetterError(_('This request cannot be approved in its current state ({status}).').format(
            status=letter.get_status_display()))
    letter.status = APPROVED
    letter.issued_at = now()
    generate(letter)
    letter.save()
    _log(letter, 'approved', data={'actor': actor} if actor else None, user=user, auth=auth)
    _mail(letter, 'letter_approved', attach=[letter.pdf], user=user, auth=auth)


def reject(letter, reason='', *, user=None, auth=None):
    with transaction.atomic():
        letter = lock(letter)
        if not allowed(letter, REJECTED):
            raise LetterError(_('This request cannot be rejected in its current state ({status}).').format(
                status=letter.get_status_display()))
        letter.status, letter.reason = REJECTED, reason or ''
        letter.save(update_fields=['status', 'reason', 'modified'])
        _log(letter, 'rejected', data={'reason': reason}, user=user, auth=auth)
        _mail(letter, 'letter_rejected', reason=reason, user=user, auth=auth)
    return letter


def withdraw(letter, reason='', *, user=None, auth=None, notify=True):
    """Cancel a request or withdraw an issued letter: its verification page says it is no longer valid."""
    with transaction.atomic():
        letter = lock(letter)
        if not allowed(letter, CANCELLED):
            raise LetterError(_('This letter cannot be withdrawn in its current state ({status}).').format(
                status=letter.get_status_display()))
        letter.status, letter.reason = CANCELLED, reason or ''
        _delete_pdf(letter)
        letter.save()
        _log(letter, 'cancelled', data={'reason': reason}, user=user, auth=auth)
        if notify:
            _mail(letter, 'letter_cancelled', reason=reason, user=user, auth=auth)
    return letter


def correct(letter, data, *, user=None, auth=None):
    """
    Correct the requester's data. An issued letter is rendered anew with the same reference and mailed again.
    The log names the fields that changed, never their values.
    """
    with transaction.atomic():
        letter = lock(letter)
        changed = [f for f in DATA_FIELDS if f in data and getattr(letter, f) != data[f]]
        if not changed:
            return letter
        for f in changed:
            setattr(letter, f, data[f])
        if letter.status == APPROVED:
            generate(letter)
        letter.save()
        _log(letter, 'changed', data={'fields': changed}, user=user, auth=auth)
        if letter.status == APPROVED:
            _log(letter, 'reissued', user=user, auth=auth)
            _mail(letter, 'letter_approved', attach=[letter.pdf], user=user, auth=auth)
    return letter


def render(letter):
    """The letter's PDF as it would be issued now (also the organizers' preview of a request)."""
    return letter_pdf.render(letter, verify_url(letter))


def filename(letter):
    return f'invitation-letter-{letter.reference}.pdf'


def generate(letter):
    """Render the PDF and store it in a new random folder; the previous file goes. The caller saves ``letter``."""
    content = render(letter)
    path = default_storage.save(f'{PDF_FOLDER}/{secrets.token_urlsafe(24)}/{filename(letter)}', ContentFile(content))
    _delete_pdf(letter)
    letter.pdf = path
    letter.rendered_at = now()
    return path


def _delete_pdf(letter):
    if letter.pdf:
        release_pdf(letter.pdf)
        letter.pdf = ''


# pretix's mail statuses in which its mail task will still read the attachments
UNFINISHED_MAILS = (OutgoingMail.STATUS_QUEUED, OutgoingMail.STATUS_INFLIGHT, OutgoingMail.STATUS_AWAITING_RETRY)


def _attached_by_unfinished_mails(paths):
    """Which of ``paths`` a mail pretix has not sent or given up yet still attaches."""
    needed = set()
    with scopes_disabled():
        for attached in (OutgoingMail.objects.filter(status__in=UNFINISHED_MAILS).exclude(should_attach_other_files=[])
                         .values_list('should_attach_other_files', flat=True)):
            needed |= set(attached or ()) & set(paths)
    return needed


def _remove(path):
    files.delete([path])  # a storage error is logged and retried by the periodic job


def release_pdf(path):
    """
    The letter no longer uses the PDF at ``path`` (withdrawn, corrected): it goes now, or, while a queued or
    retrying mail still attaches it, once that mail is sent or given up (``remove_released_pdfs``).
    """
    if _attached_by_unfinished_mails([path]):
        KeptLetterFile.objects.get_or_create(path=path)
    else:
        _remove(path)


def remove_released_pdfs():
    """The periodic job: remove the kept PDFs no unfinished mail attaches any more. Returns how many went."""
    kept = {k.path: k for k in KeptLetterFile.objects.all()}
    if not kept:
        return 0
    done = set(kept) - _attached_by_unfinished_mails(kept)
    for path in done:
        _remove(path)
    KeptLetterFile.objects.filter(path__in=done).delete()
    return len(done)


def pdf_content(letter):
    """The stored PDF of an issued letter, or None."""
    if letter.status != APPROVED or not letter.pdf or not default_storage.exists(letter.pdf):
        return None
    with default_storage.open(letter.pdf) as fh:
        return fh.read()


def is_valid(letter):
    """An issued letter whose data still exist: a shredded letter no longer vouches for anyone."""
    return letter.status == APPROVED and not letter.shredded


def was_issued(letter):
    """Whether a letter ever went out: only then does its reference have a verification page."""
    return letter.issued_at is not None


def find_by_reference(event, reference):
    return LetterRequest.objects.filter(event=event, reference=reference.upper()).select_related('event').first()


def shred(letters):
    """Remove the passport data and the PDFs of ``letters`` (the data shredder); the requests and states stay."""
    for letter in letters:
        files.delete_after_commit(letter.pdf)
        letter.pdf = ''
        letter.email = f'letter-{letter.pk}@shredded.invalid'
        letter.full_name = '█'
        letter.nationality = None
        letter.passport_number = ''
        letter.passport_expiry = None
        letter.date_of_birth = None
        letter.address = ''
        letter.consulate = ''
        letter.reason = ''
        letter.shredded = True
    LetterRequest.objects.bulk_update(
        letters, ['pdf', 'email', *DATA_FIELDS, 'reason', 'shredded'], batch_size=500)
