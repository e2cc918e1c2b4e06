"""
Reimbursement claims: after the event, a grantee claims the granted travel, accommodation and other amounts back
against receipts, and the organizers decide and pay.

The one home of the claim's rules: the state table, the claim window, what may be claimed, which files are
receipts, which payout details are valid, and the payout files. The grantee's page (``claims.views``), the control
panel (``claims.control``) and the API (``claims.api``) call these and never decide on their own.

Receipts and payout details never go into log entries or mails: a log entry holds states, amounts and the
organizers' message; a mail holds amounts, the message and the link to the grantee's page.
"""
import datetime
import logging
import os
import re
import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from localflavor.generic.countries.sepa import IBAN_SEPA_COUNTRIES
from localflavor.generic.validators import BICValidator, IBANValidator
from pretix.base.i18n import LazyCurrencyNumber
from pretix.base.middleware import add_to_response_csp
from pretix.base.models import CachedFile, Event
from pretix.base.services.placeholders import SimpleFunctionalTextPlaceholder
from pretix.helpers import OF_SELF
from pretix.multidomain.urlreverse import eventreverse_absolute
from text_unidecode import unidecode

from .. import mails
from ..actors import (  # NOQA: F401 (claims' callers name the actor through rules)
    GRANTEE, ORGANIZER,
)
from ..models import Claim, ClaimItem, Grant, GrantMail, Receipt
from ..permissions import plugin_active
from ..spreadsheets import CONTROL

logger = logging.getLogger(__name__)

C = Claim
TRANSITIONS = {
    # (from, to): who may make it
    (C.STATE_DRAFT, C.STATE_SUBMITTED): {GRANTEE},
    (C.STATE_CHANGES_REQUESTED, C.STATE_SUBMITTED): {GRANTEE},
    (C.STATE_SUBMITTED, C.STATE_APPROVED): {ORGANIZER},
    (C.STATE_SUBMITTED, C.STATE_CHANGES_REQUESTED): {ORGANIZER},
    (C.STATE_SUBMITTED, C.STATE_REJECTED): {ORGANIZER},
    (C.STATE_APPROVED, C.STATE_PAID): {ORGANIZER},
}
# the states in which the grantee may change their claim
EDITABLE = (C.STATE_DRAFT, C.STATE_CHANGES_REQUESTED)
# the mail each state brings
STATE_MAILS = {
    C.STATE_SUBMITTED: 'claim_submitted',
    C.STATE_CHANGES_REQUESTED: 'claim_changes_requested',
    C.STATE_APPROVED: 'claim_approved',
    C.STATE_REJECTED: 'claim_rejected',
    C.STATE_PAID: 'claim_paid',
}
CATEGORIES = [key for key, label in ClaimItem.CATEGORY_CHOICES]
CATEGORY_LABELS = dict(ClaimItem.CATEGORY_CHOICES)

MAX_RECEIPT_SIZE = 10 * 1024 * 1024
MAX_RECEIPTS = 10
# the file types a receipt may be, told by the file's first bytes, never by its name
MAGIC = (
    (b'%PDF-', 'application/pdf'),
    (b'\xff\xd8\xff', 'image/jpeg'),
    (b'\x89PNG\r\n\x1a\n', 'image/png'),
)


class ClaimError(Exception):
    """Something the claim's rules do not allow; nothing was changed."""

    def __init__(self, message, claim=None):
        super().__init__(str(message))
        self.message = str(message)
        self.claim = claim

    def __str__(self):
        return self.message


# --- when, and who ----------------------------------------------------------------------------------------------

def window(event):
    """When claims open and their deadline, in the event's settings."""
    s = event.settings
    opens = s.get('grants_claims_open', as_type=datetime.datetime) or event.date_from
    deadline = s.get('grants_claims_deadline', as_type=datetime.datetime)
    if deadline is None:
        deadline = (event.date_to or event.date_from) + timedelta(days=s.get('grants_claims_days', as_type=int))
    return opens, deadline


def claimable(grant):
    """A confirmed grant with money in it can be claimed."""
    return grant.status == Grant.STATUS_CONFIRMED and grant.total_amount > 0


def claimable_grants(event):
    return event.grants.filter(status=Grant.STATUS_CONFIRMED).filter(
        Q(travel_amount__gt=0) | Q(accommodation_amount__gt=0) | Q(other_amount__gt=0))


def claim_of(grant):
    try:
        return grant.claim
    except Claim.DoesNotExist:
        return None


def closed_reason(grant, claim=None, at=None):
    """Why the grantee cannot change their claim now, or None."""
    at = at or now()
    if not claimable(grant):
        return _('This grant has no amounts to claim.')
    if claim is not None and claim.state not in EDITABLE:
        return _('Your claim is "{state}" and can no longer be changed.').format(state=claim.get_state_display())
    opens, deadline = window(grant.event)
    if at < opens:
        return _('Claims open on {date}.').format(date=_date(grant.event, opens))
    # the organizers asked for changes: the grantee may answer also after the deadline
    if at > deadline and not (claim is not None and claim.state == Claim.STATE_CHANGES_REQUESTED):
        return _('The deadline for claims, {date}, has passed.').format(date=_date(grant.event, deadline))
    return None


def submit_blocker(grant):
    """Why a claim cannot be submitted though it can be edited (the attendance rule), or None."""
    if grant.event.settings.get('grants_claims_require_checkin', as_type=bool) and not grant.checked_in_at:
        return _('You can submit your claim once your ticket has been checked in at the event: the organizers '
                 'reimburse those who attended. You can save it as a draft until then.')
    return None


def _date(event, value):
    return mails.format_moment(event, value)


# --- input --------------------------------------------------------------------------------------------------------

def check_receipt(upload):
    """The content type of an uploaded receipt, judged by its first bytes; ``ValidationError`` if it is none."""
    name = upload.name or ''
    if (not name or '/' in name or '\\' in name or name.startswith('.') or '..' in name
            or any(not c.isprintable() for c in name)):
        raise ValidationError(_('The file name "{name}" is not allowed. Please rename the file and try again.').format(
            name=name.encode('ascii', 'replace').decode()[:80]))
    if not upload.size:
        raise ValidationError(_('The file "{name}" is empty.').format(name=name))
    if upload.size > MAX_RECEIPT_SIZE:
        raise ValidationError(_('The file "{name}" is larger than {size} MB.').format(
            name=name, size=MAX_RECEIPT_SIZE // (1024 * 1024)))
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    raise ValidationError(_('The file "{name}" is not a PDF, JPEG or PNG file.').format(name=name))


def normalise_iban(value):
    return re.sub(r'\s+', '', value or '').upper()


def sepa_name(value):
    """An account holder's name as a SEPA file carries it: transliterated to Latin letters, at most 70 characters."""
    return CONTROL.sub('', unidecode(value or '')).strip()[:70]


def bic_needed(iban):
    """Within the SEPA area a transfer needs only the IBAN; elsewhere the bank also needs the BIC."""
    return iban[:2] not in IBAN_SEPA_COUNTRIES


def clean_payout(event, method, account_holder='', iban='', bic='', other='', complete=False):
    """
    The payout details, normalised (IBAN and BIC without spaces, in capitals), or ``ValidationError`` with the
    fields' errors. ``complete``: everything a payout needs must be there (to submit a claim).
    """
    errors = {}
    allow_other = event.settings.get('grants_claims_allow_other_payout', as_type=bool)
    if method not in (Claim.PAYOUT_BANK, Claim.PAYOUT_OTHER) or (method == Claim.PAYOUT_OTHER and not allow_other):
        raise ValidationError({'payout_method': _('Please choose how you want to be paid.')})
    data = {'payout_method': method, 'account_holder': '', 'iban': '', 'bic': '', 'payout_other': ''}
    if method == Claim.PAYOUT_OTHER:
        data['payout_other'] = (other or '').strip()
        if complete and not data['payout_other']:
            errors['payout_other'] = _('Please tell us how we can pay you.')
    else:
        data['account_holder'] = (account_holder or '').strip()
        data['iban'] = normalise_iban(iban)
        data['bic'] = normalise_iban(bic)
        if complete and not data['account_holder']:
            errors['account_holder'] = _('Please enter the name of the account holder.')
        elif data['account_holder'] and not sepa_name(data['account_holder']):
            errors['account_holder'] = _('Please enter the account holder\'s name in letters your bank can read.')
        if data['iban']:
            try:
                IBANValidator()(data['iban'])
            except ValidationError as e:
                errors['iban'] = e.messages
        elif complete:
            errors['iban'] = _('Please enter your IBAN.')
        if data['bic']:
            try:
                BICValidator()(data['bic'])
            except ValidationError as e:
                errors['bic'] = e.messages
        elif data['iban'] and 'iban' not in errors and bic_needed(data['iban']):
            errors['bic'] = _('Your bank account is outside the SEPA area: please also enter your bank\'s BIC.')
    if errors:
        raise ValidationError(errors)
    return data


def clean_name(upload):
    return os.path.basename((upload.name or '').replace('\\', '/'))[:255]


# --- the grantee's changes ----------------------------------------------------------------------------------------

def lock_grant(grant):
    return Grant.objects.select_for_update(of=OF_SELF).select_related('event', 'event__organizer').get(pk=grant.pk)


def lock(claim):
    return (Claim.objects.select_for_update(of=OF_SELF).select_related('grant', 'grant__event', 'grant__event__organizer')
            .get(pk=claim.pk))


def _receipts_by_category(claim):
    existing = {}
    if claim is not None:
        for r in Receipt.objects.filter(item__claim=claim).select_related('item'):
            existing.setdefault(r.item.category, []).append(r)
    return existing


def problems(grant, claim, *, items, payout, new_receipts=None, remove_receipts=(), submit=False, existing=None):
    """
    Every reason why ``save`` would refuse these data, as ``({field: message}, the cleaned payout data)``: the
    grantee's page shows them all at once, together with its own errors (a file that is no receipt), rather than
    one round of errors after another. ``None`` as a field names the claim as a whole.
    """
    new_receipts = new_receipts or {}
    existing = _receipts_by_category(claim) if existing is None else existing
    remove = {int(pk) for pk in remove_receipts}
    errors = {}
    payout_data = None
    granted = grant.amounts
    for cat, (amount, description) in items.items():
        if amount is not None and amount > granted.get(cat, Decimal('0.00')):
            # the category's label leads, so it is written as a label in every language (capitalised in German)
            errors[f'{cat}_amount'] = _('{category}: you can claim at most {amount}.').format(
                amount=LazyCurrencyNumber(granted.get(cat, Decimal('0.00')), grant.event.currency),
                category=CATEGORY_LABELS[cat])
        elif amount is not None and amount < 0:
            errors[f'{cat}_amount'] = _('Please enter an amount of zero or more.')
    try:
        payout_data = clean_payout(grant.event, complete=submit, **payout)
    except ValidationError as e:
        errors.update(e.message_dict)
    for cat in CATEGORIES:
        kept = [r for r in existing.get(cat, []) if r.pk not in remove]
        count = len(kept) + len(new_receipts.get(cat, []))
        if count > MAX_RECEIPTS:
            errors[f'{cat}_receipts'] = _('Please add at most {n} receipts per category.').format(n=MAX_RECEIPTS)
        amount, description = items.get(cat, (None, ''))
        if submit and amount:
            if not (description or '').strip():
                errors[f'{cat}_description'] = _('Please describe what you claim.')
            if not count:
                errors[f'{cat}_receipts'] = _('Please add at least one receipt.')
    if submit and not any(amount for amount, d in items.values()):
        errors[None] = _('Please enter the amount you claim in at least one category.')
    return errors, payout_data


# --- receipts kept across a form that had errors ------------------------------------------------------------------

HELD_FOR = timedelta(hours=6)


def _held_key(grant, category):
    return f'pretix_grants.receipt:{grant.pk}:{category}'


def hold_receipt(grant, category, upload, content_type):
    """
    Keep a checked receipt of a claim form that had errors, so the grantee need not choose it again: as one of
    pretix's cached files, tied to the grant and the category, never downloadable, and removed by pretix's own
    clean-up of expired files if the claim is never saved.
    """
    cf = CachedFile(expires=now() + HELD_FOR, date=now(), filename=clean_name(upload), type=content_type,
                    web_download=False, session_key=_held_key(grant, category))
    upload.seek(0)
    cf.file.save('receipt', upload, save=False)
    cf.save()
    return cf


def held_receipts(grant, ids):
    """The receipts held for this grant among ``ids``: {category: [CachedFile]}; any other id is ignored."""
    valid = []
    for i in ids:
        try:
            valid.append(uuid.UUID(str(i)))
        except ValueError:
            continue
    found = {}
    keys = {_held_key(grant, cat): cat for cat in CATEGORIES}
    for cf in CachedFile.objects.filter(id__in=valid, session_key__in=keys, expires__gt=now()).order_by('date'):
        if cf.file:
            found.setdefault(keys[cf.session_key], []).append(cf)
    return found


def held_upload(cf):
    """A held receipt as ``save`` takes a new one: a file with the grantee's file name and size."""
    return File(cf.file.open('rb'), name=cf.filename)


def release_held(held):
    """Forget held receipts (saved into the claim, or removed by the grantee); their files go with them."""
    for cfs in held.values():
        for cf in cfs:
            cf.delete()


def save(grant, *, items, payout, new_receipts=None, remove_receipts=(), submit=False, at=None):
    """
    Save the grantee's claim, and with ``submit`` send it to the organizers.

    ``items``: {category: (amount, description)}; ``payout``: the keyword arguments of ``clean_payout``;
    ``new_receipts``: {category: [(upload, content type from check_receipt)]}; ``remove_receipts``: receipt ids.
    Everything is checked before anything is written; ``ValidationError`` (with field errors) or ``ClaimError``
    leave the claim and the storage as they were.
    """
    new_receipts = new_receipts or {}
    stored = []
    try:
        with transaction.atomic():
            grant = lock_grant(grant)
            claim = claim_of(grant)
            reason = closed_reason(grant, claim, at)
            if reason:
                raise ClaimError(reason, claim)
            if submit:
                reason = submit_blocker(grant)
                if reason:
                    raise ClaimError(reason, claim)
            existing = _receipts_by_category(claim)
            remove = {int(pk) for pk in remove_receipts}
            errors, payout_data = problems(grant, claim, items=items, payout=payout, new_receipts=new_receipts,
                                           remove_receipts=remove, submit=submit, existing=existing)
            if errors:
                raise ValidationError(errors)

            created = claim is None
            if created:
                claim = Claim.objects.create(grant=grant)
            for k, v in payout_data.items():
                setattr(claim, k, v)
            by_cat = {i.category: i for i in claim.items.all()}
            for cat, (amount, description) in items.items():
                item = by_cat.get(cat) or ClaimItem(claim=claim, category=cat)
                item.amount, item.description = amount or Decimal('0.00'), (description or '').strip()
                item.save()
                by_cat[cat] = item
            gone = [r for rs in existing.values() for r in rs if r.pk in remove]
            for r in gone:
                name = r.file.name
                r.delete()
                transaction.on_commit(lambda name=name: _delete_file(name))
            for cat, uploads in new_receipts.items():
                item = by_cat.get(cat) or ClaimItem.objects.create(claim=claim, category=cat)
                by_cat[cat] = item
                for upload, content_type in uploads:
                    r = Receipt(item=item, content_type=content_type, original_name=clean_name(upload),
                                size=upload.size)
                    upload.seek(0)
                    r.file.save('receipt', upload, save=False)
                    stored.append(r.file.name)
                    r.save()
            claim.save()
            claim.grant = grant
            claim.log_action('pretix_grants.claim.saved', data={
                'state': claim.state, 'claimed': str(claim.claimed_amount), 'created': created,
                'receipts_added': sum(len(u) for u in new_receipts.values()), 'receipts_removed': len(gone),
            })
            if submit:
                claim = change_state(claim, Claim.STATE_SUBMITTED, actor=GRANTEE)
    except Exception:
        for name in stored:
            _delete_file(name)
        raise
    return claim


def _delete_file(name):
    # the storage pretix configures, as FileField uses it
    storage = Receipt._meta.get_field('file').storage
    try:
        storage.delete(name)
    except Exception:  # a file already gone is no reason to fail the grantee's change
        logger.exception('Could not delete receipt file')


def receipt_response(receipt):
    """
    The receipt as the browser shows it (images inline, PDFs in the browser's viewer), never cached by anyone in
    between, its type the one checked at upload.
    """
    ext = Receipt.EXTENSIONS.get(receipt.content_type, 'bin')
    resp = FileResponse(receipt.file.open('rb'), content_type=receipt.content_type, as_attachment=False,
                        filename=f'receipt-{receipt.pk}.{ext}')
    resp['Cache-Control'] = 'private, no-store'
    resp['X-Content-Type-Options'] = 'nosniff'
    # the browser shows an image (or a PDF) in a document of its own that it styles inline; pretix's policy forbids
    # inline styles, which would only fill the console with errors (a file holds no markup of ours to protect)
    add_to_response_csp(resp, {'style-src': ["'unsafe-inline'"]})
    return resp


# --- state changes ------------------------------------------------------------------------------------------------

def allowed(claim, new_state, actor):
    return actor in TRANSITIONS.get((claim.state, new_state), ())


def _state_label(state):
    return dict(Claim.STATE_CHOICES).get(state, state)


def change_state(claim, new_state, *, actor, user=None, auth=None, message=None, approved_amount=None):
    """
    Move ``claim`` to ``new_state`` as ``actor``: checked against the table under the claim's lock, logged, and
    mailed to the grantee. ``ClaimError`` changes nothing.
    """
    with transaction.atomic():
        c = lock(claim)
        if not allowed(c, new_state, actor):
            raise ClaimError(_('A claim that is "{current}" cannot become "{new}".').format(
                current=_state_label(c.state), new=_state_label(new_state)), c)
        old_state = c.state
        t = now()
        c.state = new_state
        if new_state == Claim.STATE_SUBMITTED:
            c.submitted_at = t
            c.approved_amount = None
        elif new_state == Claim.STATE_PAID:
            c.paid_at = t
        else:
            c.decided_at = t
            c.message = (message or '').strip()
        if new_state == Claim.STATE_APPROVED:
            claimed = c.claimed_amount
            amount = claimed if approved_amount is None else Decimal(approved_amount)
            if amount <= 0 or amount > claimed:
                raise ClaimError(_('The approved amount must be more than zero and at most the amount claimed, '
                                   '{amount}.').format(amount=LazyCurrencyNumber(claimed, c.grant.event.currency)), c)
            c.approved_amount = amount
        c.save()
        data = {'old_state': old_state, 'new_state': new_state, 'actor': actor,
                'claimed': str(c.claimed_amount)}
        if c.approved_amount is not None:
            data['approved'] = str(c.approved_amount)
        if c.message and new_state not in (Claim.STATE_SUBMITTED, Claim.STATE_PAID):
            data['message'] = c.message
        c.log_action(f'pretix_grants.claim.{new_state}', data=data, user=user, auth=auth)
        mails.send_claim(c.grant, STATE_MAILS[new_state], user=user, auth=auth)
    _copy_into(claim, c)
    return c


def _copy_into(target, source):
    if target is not source:
        for f in Claim._meta.concrete_fields:
            setattr(target, f.attname, getattr(source, f.attname))


def approve(claim, amount=None, message='', *, user=None, auth=None):
    """Approve the claim in full, or ``amount`` of it (a lower amount), with an optional note."""
    return change_state(claim, Claim.STATE_APPROVED, actor=ORGANIZER, user=user, auth=auth, message=message,
                        approved_amount=amount)


def request_changes(claim, message, *, user=None, auth=None):
    if not (message or '').strip():
        raise ClaimError(_('Please tell the grantee what to change.'), claim)
    return change_state(claim, Claim.STATE_CHANGES_REQUESTED, actor=ORGANIZER, user=user, auth=auth, message=message)


def reject(claim, message, *, user=None, auth=None):
    if not (message or '').strip():
        raise ClaimError(_('Please give the grantee a reason.'), claim)
    return change_state(claim, Claim.STATE_REJECTED, actor=ORGANIZER, user=user, auth=auth, message=message)


def mark_paid(claims, *, user=None, auth=None):
    """Mark approved claims as paid; returns those marked (others, e.g. already paid, are passed by)."""
    done = []
    for claim in claims:
        try:
            done.append(change_state(claim, Claim.STATE_PAID, actor=ORGANIZER, user=user, auth=auth))
        except ClaimError:
            pass
    return done


# --- figures and payouts ------------------------------------------------------------------------------------------

def totals(event):
    """Granted, claimed, approved and paid, for the claims list."""
    grants = list(claimable_grants(event))
    claims = list(Claim.objects.filter(grant__event=event).prefetch_related('items'))
    live = [c for c in claims if c.state not in (Claim.STATE_DRAFT, Claim.STATE_REJECTED)]
    return {
        'granted': sum((g.total_amount for g in grants), Decimal('0.00')),
        'claimed': sum((c.claimed_amount for c in live), Decimal('0.00')),
        'approved': sum((c.approved_amount for c in claims if c.state in (Claim.STATE_APPROVED, Claim.STATE_PAID)),
                        Decimal('0.00')),
        'paid': sum((c.approved_amount for c in claims if c.state == Claim.STATE_PAID), Decimal('0.00')),
        'budget': event.settings.grants_budget,
    }


def payable(event):
    """The approved claims not yet paid and in no payout batch that is not cancelled: what a payout file pays."""
    return (Claim.objects.filter(grant__event=event, state=Claim.STATE_APPROVED)
            .exclude(payout_entries__active=True)
            .select_related('grant').order_by('grant__name', 'pk'))


def in_sepa(claim):
    return claim.payout_method == Claim.PAYOUT_BANK and bool(claim.iban) and not bic_needed(claim.iban)


def reference(claim):
    """The transfer's reference: the event and the grant, so the grantee and the bookkeeping know what it is."""
    return str(_('{event} grant {grant} reimbursement')).format(event=claim.grant.event.name, grant=claim.grant_id)


# --- reminders ----------------------------------------------------------------------------------------------------

def send_reminders(at=None):
    """
    Before the claim deadline, remind each grantee who has not sent a claim, once. Runs from pretix's periodic
    task, across all organizers.
    """
    at = at or now()
    sent = 0
    with scopes_disabled():
        events = Event.objects.filter(plugins__contains='pretix_grants',
                                      grants__status=Grant.STATUS_CONFIRMED).distinct()
        for event in events:
            if not plugin_active(event):
                continue
            opens, deadline = window(event)
            days = event.settings.get('grants_claims_reminder_days', as_type=int)
            if not (opens <= at < deadline and at >= deadline - timedelta(days=days)):
                continue
            due = (claimable_grants(event)
                   .exclude(claim__state__in=[s for s, label in Claim.STATE_CHOICES if s not in EDITABLE])
                   .exclude(mails__kind=GrantMail.KIND_CLAIM_REMINDER))
            for grant in due:
                with transaction.atomic():
                    g = lock_grant(grant)
                    if GrantMail.objects.filter(grant=g, kind=GrantMail.KIND_CLAIM_REMINDER).exists():
                        continue
                    mails.send(g, GrantMail.KIND_CLAIM_REMINDER, 'claim_reminder')
                    sent += 1
    return sent


# --- mail placeholders --------------------------------------------------------------------------------------------

def claim_url(grant):
    return mails.reply_url(grant) + 'claim/'


def _claim_value(func):
    def value(event, grant):
        claim = claim_of(grant)
        return func(event, grant, claim) if claim is not None else ''
    return value


def placeholders():
    """The claims' mail placeholders, registered through pretix's ``register_mail_placeholders``."""
    sample = Decimal('420.00')
    return [
        SimpleFunctionalTextPlaceholder(
            'claim_url', ['event', 'grant'], lambda event, grant: claim_url(grant),
            lambda event: eventreverse_absolute(event, 'plugins:pretix_grants:reply', kwargs={'secret': 'S3CR3T'}) + 'claim/',
        ),
        SimpleFunctionalTextPlaceholder(
            'claim_amount', ['event', 'grant'],
            _claim_value(lambda event, grant, claim: str(LazyCurrencyNumber(claim.claimed_amount, event.currency))),
            lambda event: str(LazyCurrencyNumber(sample, event.currency)),
        ),
        SimpleFunctionalTextPlaceholder(
            'claim_approved_amount', ['event', 'grant'],
            _claim_value(lambda event, grant, claim: str(LazyCurrencyNumber(claim.approved_amount or 0,
                                                                            event.currency))),
            lambda event: str(LazyCurrencyNumber(sample, event.currency)),
        ),
        SimpleFunctionalTextPlaceholder(
            'claim_message', ['event', 'grant'], _claim_value(lambda event, grant, claim: claim.message),
            _('Please add the receipt of your return journey.'),
        ),
        SimpleFunctionalTextPlaceholder(
            'claim_deadline', ['event', 'grant'], lambda event, grant: _date(event, window(event)[1]),
            lambda event: _date(event, window(event)[1]),
        ),
    ]
