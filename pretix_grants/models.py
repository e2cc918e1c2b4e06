import secrets
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import (
    DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum,
)
from django.db.models.functions import Coalesce, Lower
from django.utils.text import capfirst
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from django_scopes import ScopedManager
from pretix.base.models import LoggedModel, Order, OrderPosition, OutgoingMail
from pretix.helpers import OF_SELF
from pretix.helpers.countries import FastCountryField

ZERO = Decimal('0.00')
# The ticket orders that count as "has a ticket" (not canceled, not expired).
TICKET_VALID = (Order.STATUS_PAID, Order.STATUS_PENDING)
MAIL_PENDING = (OutgoingMail.STATUS_QUEUED, OutgoingMail.STATUS_INFLIGHT, OutgoingMail.STATUS_AWAITING_RETRY)


def own_ticket_positions(event, email, item_ids, subevent_id=None):
    """
    The order positions of ``event`` that are ``email``'s own ticket for one of ``item_ids``: not canceled, in a
    pending or paid order, bought under that order email or for that attendee email (case-insensitive).
    ``event`` and ``email`` may be ``OuterRef``s.
    """
    qs = OrderPosition.objects.filter(order__event=event, order__status__in=TICKET_VALID, item_id__in=item_ids)
    if subevent_id:
        qs = qs.filter(subevent_id=subevent_id)
    return qs.filter(Q(order__email__iexact=email) | Q(attendee_email__iexact=email))


def generate_secret():
    """256 random bits, URL-safe: the grantee's only key to their reply page."""
    return secrets.token_urlsafe(32)


def as_labels(choices):
    """
    A model's status choices as labels (filters, lists, badges): capitalised like pretix's own status labels. The
    choices themselves stay lower-case, for sentences such as "cannot move from {current} to {new}".
    """
    return tuple((key, capfirst(label)) for key, label in choices)


def amount_field(label):
    """An amount of money in the event's currency, never negative."""
    return models.DecimalField(
        max_digits=13, decimal_places=2, default=Decimal('0.00'), validators=[MinValueValidator(Decimal('0.00'))],
        verbose_name=label,
    )


def _total_expression():
    return ExpressionWrapper(
        F('travel_amount') + F('accommodation_amount') + F('other_amount'),
        output_field=DecimalField(max_digits=13, decimal_places=2),
    )


class GrantQuerySet(models.QuerySet):
    """The grant rules that select grants, one home each (the ``Grant`` methods of the same names judge one)."""

    def lock(self, pk):
        """Re-read one grant under a row lock, with its event; must run inside a transaction."""
        return self.select_for_update(of=OF_SELF).select_related('event', 'event__organizer').get(pk=pk)

    def open_to(self, user):
        """
        The grants ``user`` may open, score and see the scores of: not those with a conflict of interest declared for
        them (``Conflict``), nor their own application (matched by e-mail). Without a user (an API token) all.
        """
        if user is None or not getattr(user, 'is_authenticated', False):
            return self
        return self.exclude(Exists(Conflict.objects.filter(grant=OuterRef('pk'), user=user))).exclude(
            email__iexact=user.email)

    def due_for_voucher(self):
        """Confirmed grants with a ticket whose voucher is not (or no longer) in their hands."""
        return self.filter(status=Grant.STATUS_CONFIRMED, ticket=True).exclude(
            voucher_state__in=Grant.VOUCHER_STATES_SETTLED)

    def holding_own_ticket(self, item_ids, subevent_id=None):
        """
        Grants whose person holds a ticket of their own for one of ``item_ids`` (the grant product, or its quota's
        products): a pending or paid order of the event with such a position, by the order's or the attendee's
        email.
        """
        return self.filter(Exists(own_ticket_positions(OuterRef('event'), OuterRef('email'), item_ids, subevent_id)))

    def holding_voucher(self):
        """Grants whose voucher is in the grantee's hands."""
        return self.filter(voucher_state__in=Grant.VOUCHER_STATES_DONE, voucher__isnull=False)

    def reply_deadline_passed(self, at=None):
        """Offers whose reply deadline has passed (see ``Grant.reply_deadline_passed``)."""
        return self.filter(status=Grant.STATUS_APPROVED, reply_deadline__lt=at or now())

    def holding_place(self):
        """Grants that hold a place: offered and waiting for a reply, or confirmed."""
        return self.filter(status__in=Grant.HOLDING)

    def with_total(self):
        return self.annotate(total=_total_expression())

    def granted_total(self):
        """The sum of the granted amounts (travel, accommodation, other) of these grants."""
        return self.aggregate(
            s=Coalesce(Sum(_total_expression()), ZERO, output_field=DecimalField(max_digits=13, decimal_places=2))
        )['s']

    def with_mail_state(self):
        """Annotate ``mail_failed``, ``mail_pending`` and ``mail_any`` for ``Grant.mail_state``."""
        return self.annotate(
            mail_failed=Exists(GrantMail.objects.filter(grant=OuterRef('pk'),
                                                        outgoing_mail__status=OutgoingMail.STATUS_FAILED)),
            mail_pending=Exists(GrantMail.objects.filter(grant=OuterRef('pk'),
                                                         outgoing_mail__status__in=MAIL_PENDING)),
            mail_any=Exists(GrantMail.objects.filter(grant=OuterRef('pk'))),
        )

    def no_shows(self, event, ended):
        """Of these, after the event (``ended``): confirmed grants with a ticket order that was never checked in."""
        if not ended:
            return self.none()
        return self.filter(event=event, status=Grant.STATUS_CONFIRMED, order_status__in=TICKET_VALID,
                           checked_in_at__isnull=True)


class Grant(LoggedModel):
    """One person's grant in one event, from application to a voucher in their hands."""

    STATUS_PENDING = 'pending'
    STATUS_APPROVED = 'approved'
    STATUS_WAITING_LIST = 'waiting_list'
    STATUS_REJECTED = 'rejected'
    STATUS_CONFIRMED = 'confirmed'
    STATUS_REFUSED = 'refused'
    STATUS_EXPIRED = 'expired'
    STATUS_CANCELLED = 'cancelled'
    STATUS_CHOICES = (
        (STATUS_PENDING, pgettext_lazy('grant', 'pending')),
        (STATUS_APPROVED, pgettext_lazy('grant', 'approved, awaiting reply')),
        (STATUS_WAITING_LIST, pgettext_lazy('grant', 'waiting list')),
        (STATUS_REJECTED, pgettext_lazy('grant', 'rejected')),
        (STATUS_CONFIRMED, pgettext_lazy('grant', 'confirmed')),
        (STATUS_REFUSED, pgettext_lazy('grant', 'refused')),
        (STATUS_EXPIRED, pgettext_lazy('grant', 'expired')),
        (STATUS_CANCELLED, pgettext_lazy('grant', 'cancelled')),
    )
    # what a grant is for: an application through the shop's form (or the control panel, the API, an import), or
    # travel support offered to a speaker of the connected pretalx event (speakers/)
    TYPE_APPLICATION = 'application'
    TYPE_SPEAKER = 'speaker'
    TYPE_CHOICES = (
        (TYPE_APPLICATION, pgettext_lazy('grant type', 'Application')),
        (TYPE_SPEAKER, pgettext_lazy('grant type', 'Speaker support')),
    )
    DECISION_CHOICES = (
        (STATUS_APPROVED, pgettext_lazy('grant', 'approve')),
        (STATUS_WAITING_LIST, pgettext_lazy('grant', 'waiting list')),
        (STATUS_REJECTED, pgettext_lazy('grant', 'reject')),
    )

    VOUCHER_NOT_ISSUED = 'not_issued'
    VOUCHER_ISSUED = 'issued'
    VOUCHER_LINKED = 'linked'
    VOUCHER_UPGRADED = 'upgraded'
    VOUCHER_NEEDS_ATTENTION = 'needs_attention'
    VOUCHER_STATE_CHOICES = (
        (VOUCHER_NOT_ISSUED, _('not issued')),
        (VOUCHER_ISSUED, _('issued')),
        (VOUCHER_LINKED, _('existing free voucher')),
        (VOUCHER_UPGRADED, _('existing voucher upgraded')),
        (VOUCHER_NEEDS_ATTENTION, _('needs attention')),
        ('own_ticket', _('no voucher: the person\'s own ticket')),
    )
    VOUCHER_STATES_DONE = (VOUCHER_ISSUED, VOUCHER_LINKED, VOUCHER_UPGRADED)
    # the person's own order is their ticket (``hooks.grant_own_ticket``): no voucher is due
    VOUCHER_OWN_TICKET = 'own_ticket'
    VOUCHER_STATES_SETTLED = (*VOUCHER_STATES_DONE, VOUCHER_OWN_TICKET)
    # The grants that hold a place: offered and waiting for a reply, or confirmed.
    HOLDING = (STATUS_APPROVED, STATUS_CONFIRMED)
    # The statuses in which a voucher the person already holds may be linked to the grant.
    LINKABLE = (STATUS_PENDING, STATUS_APPROVED, STATUS_WAITING_LIST, STATUS_CONFIRMED)

    TICKET_NONE = 'none'
    TICKET_PENDING = 'pending'
    TICKET_PAID = 'paid'
    TICKET_CANCELED = 'canceled'
    TICKET_EXPIRED = 'expired'
    TICKET_CHECKED_IN = 'checked_in'
    TICKET_STATE_LABELS = {
        TICKET_NONE: pgettext_lazy('grant ticket', 'no ticket ordered'),
        TICKET_PENDING: pgettext_lazy('grant ticket', 'ticket ordered ({code}), payment pending'),
        TICKET_PAID: pgettext_lazy('grant ticket', 'ticket ordered ({code})'),
        TICKET_CANCELED: pgettext_lazy('grant ticket', 'order {code} canceled, the voucher can be used again'),
        TICKET_EXPIRED: pgettext_lazy('grant ticket', 'order {code} expired, the voucher can be used again'),
        TICKET_CHECKED_IN: pgettext_lazy('grant ticket', 'checked in ({code})'),
    }
    ORDER_TO_TICKET = {
        Order.STATUS_PENDING: TICKET_PENDING,
        Order.STATUS_PAID: TICKET_PAID,
        Order.STATUS_CANCELED: TICKET_CANCELED,
        Order.STATUS_EXPIRED: TICKET_EXPIRED,
    }

    event = models.ForeignKey('pretixbase.Event', on_delete=models.CASCADE, related_name='grants')
    # the date of an event series the grant is for: its voucher carries it, its quota check asks for it
    subevent = models.ForeignKey('pretixbase.SubEvent', null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name='grants', verbose_name=pgettext_lazy('subevent', 'Date'))
    name = models.CharField(max_length=255, verbose_name=_('Name'))
    email = models.EmailField(max_length=254, verbose_name=_('Email'))
    locale = models.CharField(max_length=32, default='en', verbose_name=_('Language'))
    grant_type = models.CharField(max_length=16, choices=TYPE_CHOICES, default=TYPE_APPLICATION,
                                  verbose_name=_('Type'))
    status = models.CharField(max_length=32, choices=STATUS_CHOICES, default=STATUS_PENDING, db_index=True)
    decision = models.CharField(
        max_length=32, choices=DECISION_CHOICES, null=True, blank=True,
        verbose_name=_('Staged decision'),
        help_text=_('Not visible to the grantee until it is published.'),
    )
    reply_deadline = models.DateTimeField(null=True, blank=True, verbose_name=_('Reply deadline'))
    secret = models.CharField(max_length=64, unique=True, default=generate_secret)

    voucher = models.OneToOneField(
        'pretixbase.Voucher', null=True, blank=True, on_delete=models.SET_NULL, related_name='grant',
    )
    voucher_state = models.CharField(max_length=32, choices=VOUCHER_STATE_CHOICES, default=VOUCHER_NOT_ISSUED)
    voucher_attention = models.TextField(blank=True, default='', verbose_name=_('Why the voucher needs attention'))
    # The voucher's values before an in-place upgrade, so a refusal can give the person back what they had.
    voucher_original = models.JSONField(null=True, blank=True)
    # What the voucher bought when the periodic check last saw it (issuance.check_vouchers): a change that fired no
    # signal (pretix's bulk edit, a deleted product, variation or quota) shows as a difference.
    voucher_fingerprint = models.JSONField(null=True, blank=True)

    ticket = models.BooleanField(default=True, verbose_name=_('Free ticket'))
    travel_amount = amount_field(_('Travel'))
    accommodation_amount = amount_field(_('Accommodation'))
    other_amount = amount_field(_('Other'))
    internal_note = models.TextField(blank=True, default='', verbose_name=_('Internal note'))

    # Lifecycle (lifecycle.py): the waiting-list order, the current offer, and what became of the voucher.
    rank = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_('Waiting list rank'),
        help_text=_('Lower ranks get a freed place first; without a rank, the earlier application comes first.'),
    )
    offered_at = models.DateTimeField(null=True, blank=True, verbose_name=_('Offer published'))
    # the grant whose offer took the place this grant freed (a waiting-list promotion), so a place is refilled once
    place_taken_by = models.ForeignKey('self', null=True, blank=True, on_delete=models.SET_NULL, related_name='+')
    order_code = models.CharField(max_length=16, blank=True, default='', verbose_name=_('Ticket order'))
    order_status = models.CharField(max_length=3, blank=True, default='', verbose_name=_('Ticket order status'))
    checked_in_at = models.DateTimeField(null=True, blank=True, verbose_name=_('Checked in'))

    # What the applicant asked for (applications.py); the granted amounts above are the organizers' to set.
    requested_ticket = models.BooleanField(default=True, verbose_name=_('Requested: ticket'))
    requested_travel = amount_field(_('Requested: travel'))
    requested_accommodation = amount_field(_('Requested: accommodation'))
    requested_other = amount_field(_('Requested: other'))
    justification = models.TextField(blank=True, default='', verbose_name=_('Justification of the amounts'))
    motivation = models.TextField(blank=True, default='', verbose_name=_('Why they want to attend'))
    # answers to the organizer's extra questions: {question id: answer}
    answers = models.JSONField(default=dict, blank=True)

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    objects = ScopedManager(organizer='event__organizer', _manager_class=models.Manager.from_queryset(GrantQuerySet))

    class Meta:
        ordering = ('created', 'id')
        constraints = [
            models.UniqueConstraint(Lower('email'), 'event', name='pretix_grants_one_grant_per_email'),
        ]

    def __str__(self):
        return f'{self.name} <{self.email}>'

    @property
    def amounts(self):
        return {
            'travel': self.travel_amount,
            'accommodation': self.accommodation_amount,
            'other': self.other_amount,
        }

    @property
    def total_amount(self):
        return sum(self.amounts.values(), Decimal('0.00'))

    def take_values_of(self, other):
        """Keep this object current with ``other`` (the same grant, re-read under its lock by an action)."""
        if other is not self:
            for f in Grant._meta.concrete_fields:
                setattr(self, f.attname, getattr(other, f.attname))

    @classmethod
    def status_label(cls, status):
        return dict(cls.STATUS_CHOICES).get(status, status)

    def reply_deadline_passed(self, at=None):
        """An offer whose reply deadline has passed: the grantee may no longer answer. At the deadline itself they still may."""
        return self.status == self.STATUS_APPROVED and bool(self.reply_deadline) and (at or now()) > self.reply_deadline

    def is_due_for_voucher(self):
        """Confirmed, with a ticket, and the voucher not (or no longer) in the grantee's hands."""
        return (self.status == self.STATUS_CONFIRMED and self.ticket
                and self.voucher_state not in self.VOUCHER_STATES_SETTLED)

    def holds_voucher(self):
        """The grant's voucher is in the grantee's hands."""
        return bool(self.voucher_id) and self.voucher_state in self.VOUCHER_STATES_DONE

    def holds_place(self):
        return self.status in self.HOLDING

    def may_change_date(self):
        """The date of an event series may change until the grant's voucher is issued: the voucher carries it."""
        return not self.holds_voucher()

    def may_link_voucher(self):
        """Whether an organizer may link a voucher the person already holds: one rule for the API and the panel."""
        return self.status in self.LINKABLE and self.voucher_state not in self.VOUCHER_STATES_DONE

    @property
    def mail_state(self):
        """Delivery of the grant's mails, from ``GrantQuerySet.with_mail_state``: failed, queued, sent or ''."""
        if self.mail_failed:
            return 'failed'
        if self.mail_pending:
            return 'queued'
        if self.mail_any:
            return 'sent'
        return ''

    def ticket_state(self):
        """What became of the grant's voucher: one of the ``TICKET_*`` keys."""
        if self.checked_in_at:
            return self.TICKET_CHECKED_IN
        return self.ORDER_TO_TICKET.get(self.order_status, self.TICKET_NONE)

    def get_ticket_state_display(self):
        return str(self.TICKET_STATE_LABELS[self.ticket_state()]).format(code=self.order_code)

    @property
    def requested_amounts(self):
        return {
            'travel': self.requested_travel,
            'accommodation': self.requested_accommodation,
            'other': self.requested_other,
        }

    @property
    def requested_total(self):
        return sum(self.requested_amounts.values(), Decimal('0.00'))


class GrantMail(models.Model):
    """Which of pretix's outgoing mails belong to a grant, and why they were sent."""

    KIND_RECEIVED = 'received'
    KIND_DECISION = 'decision'
    KIND_VOUCHER = 'voucher'
    KIND_REMINDER = 'reminder'
    KIND_EXPIRED = 'expired'
    # reimbursement claims (claims.py)
    KIND_CLAIM = 'claim'
    KIND_CLAIM_REMINDER = 'claim_reminder'
    # the person's own ticket (tickets/)
    KIND_OWN_TICKET = 'own_ticket'
    KIND_CHOICES = (
        (KIND_RECEIVED, _('Application received')),
        (KIND_DECISION, _('Decision')),
        (KIND_VOUCHER, _('Voucher')),
        (KIND_REMINDER, _('Reminder')),
        (KIND_EXPIRED, _('Offer expired')),
        (KIND_CLAIM, _('Reimbursement claim')),
        (KIND_CLAIM_REMINDER, _('Reminder to claim')),
        (KIND_OWN_TICKET, _('Your own ticket')),
    )

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name='mails')
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    outgoing_mail = models.ForeignKey(
        'pretixbase.OutgoingMail', null=True, blank=True, on_delete=models.SET_NULL, related_name='+',
    )
    created = models.DateTimeField(auto_now_add=True)
    # owed, not yet handed to pretix's mail system: a worker renders and queues it after commit (mails.deliver_owed)
    pending = models.BooleanField(default=False)

    objects = ScopedManager(organizer='grant__event__organizer')

    class Meta:
        ordering = ('created', 'id')

    @property
    def status(self):
        """pretix's delivery state, or None once pretix has pruned the mail from its outbox."""
        return self.outgoing_mail.status if self.outgoing_mail else None


class Review(models.Model):
    """One reviewer's score of one application. Others' reviews stay hidden from a reviewer until they score it."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name='reviews')
    user = models.ForeignKey('pretixbase.User', on_delete=models.CASCADE, related_name='+')
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)], verbose_name=_('Score'),
    )
    note = models.TextField(blank=True, default='', verbose_name=_('Note'))
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    objects = ScopedManager(organizer='grant__event__organizer')

    class Meta:
        ordering = ('created', 'id')
        constraints = [
            models.UniqueConstraint(fields=('grant', 'user'), name='pretix_grants_one_review_per_reviewer'),
        ]


def generate_letter_reference():
    """Printed on the letter and in its verification URL: 80 random bits, readable over the phone (letters.py)."""
    alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
    raw = ''.join(secrets.choice(alphabet) for _ in range(16))
    return '-'.join(raw[i:i + 4] for i in range(0, 16, 4))


class LetterRequest(LoggedModel):
    """
    A visa invitation letter asked for by a grantee (``grant``) or a ticket holder (``order``), and the PDF the
    organizers issue for it (letters.py). The passport data lives only here; the shredder removes it.
    """

    STATUS_REQUESTED = 'requested'
    STATUS_APPROVED = 'approved'
    STATUS_REJECTED = 'rejected'
    STATUS_CANCELLED = 'cancelled'
    STATUS_CHOICES = (
        (STATUS_REQUESTED, pgettext_lazy('letter', 'requested')),
        (STATUS_APPROVED, pgettext_lazy('letter', 'issued')),
        (STATUS_REJECTED, pgettext_lazy('letter', 'rejected')),
        (STATUS_CANCELLED, pgettext_lazy('letter', 'withdrawn')),
    )

    event = models.ForeignKey('pretixbase.Event', on_delete=models.CASCADE, related_name='letter_requests')
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.CASCADE, related_name='letters')
    order = models.ForeignKey('pretixbase.Order', null=True, blank=True, on_delete=models.CASCADE,
                              related_name='grant_letters')
    email = models.EmailField(max_length=254, verbose_name=_('Email'))
    locale = models.CharField(max_length=32, default='en', verbose_name=_('Language'))
    reference = models.CharField(max_length=32, unique=True, default=generate_letter_reference,
                                 verbose_name=_('Reference'))
    status = models.CharField(max_length=32, choices=STATUS_CHOICES, default=STATUS_REQUESTED, db_index=True)
    reason = models.TextField(blank=True, default='', verbose_name=_('Reason'))

    full_name = models.CharField(max_length=255, verbose_name=_('Full name as in the passport'))
    nationality = FastCountryField(blank=True, null=True, verbose_name=_('Nationality'))
    passport_number = models.CharField(max_length=32, blank=True, default='', verbose_name=_('Passport number'))
    passport_expiry = models.DateField(null=True, blank=True, verbose_name=_('Passport expiry date'))
    date_of_birth = models.DateField(null=True, blank=True, verbose_name=_('Date of birth'))
    # bounded: the letter's PDF is rendered from them (in the requester's request with automatic approval)
    address = models.TextField(max_length=500, blank=True, default='', verbose_name=_('Postal address'))
    consulate = models.TextField(max_length=500, blank=True, default='', verbose_name=_('Consulate or embassy'))

    # the issued PDF on the default storage, under a random folder no web server serves (letters.PDF_FOLDER)
    pdf = models.CharField(max_length=255, blank=True, default='')
    issued_at = models.DateTimeField(null=True, blank=True, verbose_name=_('Issued'))
    rendered_at = models.DateTimeField(null=True, blank=True, verbose_name=_('Letter rendered'))
    shredded = models.BooleanField(default=False)

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    objects = ScopedManager(organizer='event__organizer')

    class Meta:
        ordering = ('created', 'id')

    def __str__(self):
        return self.reference


# Claims (claims.py): after the event, a grantee claims the granted amounts back against receipts.


def receipt_name(instance, filename):
    """
    Receipts go under ``cachedfiles/``, which pretix's recommended web server configuration refuses to serve
    (as for the files attached to question answers), with 256 random bits as the name: never the grantee's own
    file name, so no path in it can reach the storage. They are only ever served through the plugin's views.
    """
    event = instance.item.claim.grant.event
    return 'cachedfiles/pretix_grants/receipts/{org}/{ev}/{secret}.{ext}'.format(
        org=event.organizer.slug, ev=event.slug, secret=secrets.token_hex(32),
        ext=Receipt.EXTENSIONS.get(instance.content_type, 'bin'),
    )


class Claim(LoggedModel):
    """A grantee's reimbursement claim: one per grant, with one item per category and the payout details."""

    STATE_DRAFT = 'draft'
    STATE_SUBMITTED = 'submitted'
    STATE_APPROVED = 'approved'
    STATE_CHANGES_REQUESTED = 'changes_requested'
    STATE_REJECTED = 'rejected'
    STATE_PAID = 'paid'
    STATE_CHOICES = (
        (STATE_DRAFT, pgettext_lazy('claim', 'draft')),
        (STATE_SUBMITTED, pgettext_lazy('claim', 'submitted')),
        (STATE_APPROVED, pgettext_lazy('claim', 'approved')),
        (STATE_CHANGES_REQUESTED, pgettext_lazy('claim', 'changes requested')),
        (STATE_REJECTED, pgettext_lazy('claim', 'rejected')),
        (STATE_PAID, pgettext_lazy('claim', 'paid')),
    )

    PAYOUT_BANK = 'bank'
    PAYOUT_OTHER = 'other'
    PAYOUT_CHOICES = (
        (PAYOUT_BANK, _('Bank transfer')),
        (PAYOUT_OTHER, _('Other payout method')),
    )

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name='claim')
    state = models.CharField(max_length=32, choices=STATE_CHOICES, default=STATE_DRAFT, db_index=True)
    payout_method = models.CharField(max_length=16, choices=PAYOUT_CHOICES, default=PAYOUT_BANK)
    account_holder = models.CharField(max_length=70, blank=True, default='', verbose_name=_('Account holder'))
    iban = models.CharField(max_length=34, blank=True, default='', verbose_name=_('IBAN'))
    bic = models.CharField(max_length=11, blank=True, default='', verbose_name=_('BIC'))
    payout_other = models.TextField(blank=True, default='', verbose_name=_('Payout details'))
    approved_amount = models.DecimalField(max_digits=13, decimal_places=2, null=True, blank=True,
                                          verbose_name=_('Approved amount'))
    # the organizers' words to the grantee with their last decision (approval note, changes asked for, reason)
    message = models.TextField(blank=True, default='', verbose_name=_('Message to the grantee'))
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    objects = ScopedManager(organizer='grant__event__organizer')

    class Meta:
        ordering = ('created', 'id')

    def __str__(self):
        return f'#{self.pk} ({self.grant})'

    @property
    def event(self):
        return self.grant.event

    @property
    def claimed_amount(self):
        return sum((i.amount for i in self.items.all()), Decimal('0.00'))


class ClaimItem(models.Model):
    """What a claim asks back in one of the grant's categories (travel, accommodation, other)."""

    CATEGORY_CHOICES = (
        ('travel', _('Travel')),
        ('accommodation', _('Accommodation')),
        ('other', _('Other')),
    )

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name='items')
    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    amount = amount_field(_('Amount claimed'))
    description = models.TextField(blank=True, default='', verbose_name=_('Description'))

    objects = ScopedManager(organizer='claim__grant__event__organizer')

    class Meta:
        ordering = ('claim', 'id')
        constraints = [
            models.UniqueConstraint(fields=('claim', 'category'), name='pretix_grants_one_claim_item_per_category'),
        ]


class Receipt(models.Model):
    """A receipt file of a claim item, kept in pretix's storage at a private, unguessable path."""

    EXTENSIONS = {'application/pdf': 'pdf', 'image/jpeg': 'jpg', 'image/png': 'png'}

    item = models.ForeignKey(ClaimItem, on_delete=models.CASCADE, related_name='receipts')
    file = models.FileField(upload_to=receipt_name, max_length=255)
    content_type = models.CharField(max_length=64)
    # the grantee's name for the file, cleaned, shown to the grantee and the organizers only
    original_name = models.CharField(max_length=255, blank=True, default='')
    size = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(organizer='item__claim__grant__event__organizer')

    class Meta:
        ordering = ('created', 'id')

    @property
    def is_image(self):
        return self.content_type.startswith('image/')


# The person's own ticket (tickets/): an order they bought themselves, and a place held for an applicant.


class OwnTicket(LoggedModel):
    """
    What became of the ticket a grantee bought themselves (``tickets.rules``): refunded through pretix, kept as
    theirs, or waiting for their choice. One per grant; ``refund`` is pretix's own refund object.
    """

    HANDLING_REFUND = 'refund'
    HANDLING_KEEP = 'keep'
    HANDLING_ASK = 'ask'
    HANDLING_CHOICES = (
        (HANDLING_REFUND, pgettext_lazy('own ticket', 'refund the ticket')),
        (HANDLING_KEEP, pgettext_lazy('own ticket', 'keep the order')),
        (HANDLING_ASK, pgettext_lazy('own ticket', 'ask the grantee')),
    )
    STATE_ASKED = 'asked'
    STATE_PENDING = 'pending'
    STATE_REFUNDED = 'refunded'
    STATE_FREE = 'free'
    STATE_KEPT = 'kept'
    STATE_FAILED = 'failed'
    STATE_CHOICES = (
        (STATE_ASKED, pgettext_lazy('own ticket', 'waiting for the grantee\'s choice')),
        (STATE_PENDING, pgettext_lazy('own ticket', 'refund being made')),
        (STATE_REFUNDED, pgettext_lazy('own ticket', 'refunded')),
        (STATE_FREE, pgettext_lazy('own ticket', 'order made free')),
        (STATE_KEPT, pgettext_lazy('own ticket', 'kept as the person\'s own ticket')),
        (STATE_FAILED, pgettext_lazy('own ticket', 'refund failed')),
    )

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name='own_ticket')
    order = models.ForeignKey('pretixbase.Order', on_delete=models.CASCADE, related_name='+')
    position = models.ForeignKey('pretixbase.OrderPosition', null=True, on_delete=models.SET_NULL, related_name='+')
    # the grantee's choice where the organizer asks them (HANDLING_ASK), else the organizer's setting
    handling = models.CharField(max_length=16, choices=HANDLING_CHOICES)
    choice = models.CharField(max_length=16, blank=True, default='')
    state = models.CharField(max_length=16, choices=STATE_CHOICES, default=STATE_PENDING)
    price_paid = models.DecimalField(max_digits=13, decimal_places=2, default=ZERO)
    refund = models.ForeignKey('pretixbase.OrderRefund', null=True, blank=True, on_delete=models.SET_NULL,
                               related_name='+')
    error = models.TextField(blank=True, default='')
    attempts = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    objects = ScopedManager(organizer='grant__event__organizer')

    @property
    def event(self):
        return self.grant.event


class TicketHold(models.Model):
    """A place held for an applicant in the grant product's quota, as pretix holds one for a voucher."""

    STATE_HELD = 'held'
    STATE_FULL = 'full'
    STATE_RELEASED = 'released'
    STATE_USED = 'used'
    STATE_CHOICES = (
        (STATE_HELD, pgettext_lazy('ticket hold', 'ticket held')),
        (STATE_FULL, pgettext_lazy('ticket hold', 'no ticket could be held')),
        (STATE_RELEASED, pgettext_lazy('ticket hold', 'released')),
        (STATE_USED, pgettext_lazy('ticket hold', 'became the grant voucher')),
    )

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name='ticket_hold')
    voucher = models.ForeignKey('pretixbase.Voucher', null=True, blank=True, on_delete=models.SET_NULL,
                                related_name='+')
    state = models.CharField(max_length=16, choices=STATE_CHOICES, default=STATE_HELD)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    objects = ScopedManager(organizer='grant__event__organizer')


# Decisions (decisions/): conflicts of interest declared for reviewers, and the public draws at the funding line.


class Conflict(models.Model):
    """A team member who must not open, score or see the scores of one application (declared by them or for them)."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name='conflicts')
    user = models.ForeignKey('pretixbase.User', on_delete=models.CASCADE, related_name='+')
    declared_by = models.ForeignKey('pretixbase.User', null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name='+')
    created = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(organizer='grant__event__organizer')

    class Meta:
        ordering = ('created', 'id')
        constraints = [
            models.UniqueConstraint(fields=('grant', 'user'), name='pretix_grants_one_conflict_per_reviewer'),
        ]


class Draw(LoggedModel):
    """
    A lot among the applicants tied at the funding line (decisions/rules.py): the commitment (SHA-256 of the seed)
    is public from the start, the seed and the order it gives once drawn. ``band`` names the line (a hash of the
    tied grant ids), so a second draw for the same line needs a reason.
    """

    event = models.ForeignKey('pretixbase.Event', on_delete=models.CASCADE, related_name='grant_draws')
    band = models.CharField(max_length=64, db_index=True)
    tied = models.JSONField(default=list)
    commitment = models.CharField(max_length=64)
    seed = models.CharField(max_length=64)
    order = models.JSONField(default=list)
    # the programme's tie rule the band was found by (decisions/rules.py): 'overlap' or 'equal'
    rule = models.CharField(max_length=16, default='overlap')
    reason = models.TextField(blank=True, default='', max_length=2000)
    superseded = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    drawn_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(organizer='event__organizer')

    class Meta:
        ordering = ('created', 'id')

    @property
    def drawn(self):
        return self.drawn_at is not None

    @property
    def revealed_seed(self):
        """The seed, once the draw is made: before, only its commitment is public."""
        return self.seed if self.drawn else ''


# --- files kept for queued mails (letters.release_pdf) ----------------------------------------------------------


class KeptLetterFile(models.Model):
    """
    A withdrawn or replaced letter PDF that a mail pretix has not sent yet still attaches: it stays on storage until
    no queued, in-flight or retrying ``OutgoingMail`` names it, then the periodic job removes it.
    """
    path = models.CharField(max_length=255, unique=True)
    created = models.DateTimeField(auto_now_add=True)


# Speakers from pretalx (speakers/): one row per pretalx speaker of an event, with the voucher the sync gave them.


class Speaker(LoggedModel):
    """A speaker of the connected pretalx event, as the last successful sync read them, and their voucher."""

    ROLE_MAIN = 'main'
    ROLE_CO = 'co'
    ROLE_NONE = 'none'
    ROLE_CHOICES = (
        (ROLE_MAIN, _('Main speaker')),
        (ROLE_CO, _('Co-speaker')),
        (ROLE_NONE, _('No talk in the chosen states')),
    )
    STATE_NONE = 'none'
    STATE_ISSUED = 'issued'
    STATE_GRANT = 'grant'
    STATE_ENDED = 'ended'
    STATE_ATTENTION = 'attention'
    STATE_CHOICES = (
        (STATE_NONE, _('No voucher')),
        (STATE_ISSUED, _('Voucher issued')),
        (STATE_GRANT, _('Free ticket from a grant')),
        (STATE_ENDED, _('Voucher ended')),
        (STATE_ATTENTION, _('Needs attention')),
    )

    event = models.ForeignKey('pretixbase.Event', on_delete=models.CASCADE, related_name='grant_speakers')
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True, default='')
    email = models.EmailField(max_length=254, blank=True, default='')
    locale = models.CharField(max_length=32, blank=True, default='')
    role = models.CharField(max_length=8, choices=ROLE_CHOICES, default=ROLE_NONE)
    # the pretalx codes and titles of the speaker's talks in the chosen states: [[code, title, main], ...]
    talks = models.JSONField(default=list)
    voucher = models.ForeignKey('pretixbase.Voucher', null=True, blank=True, on_delete=models.SET_NULL,
                                related_name='grant_speakers')
    state = models.CharField(max_length=16, choices=STATE_CHOICES, default=STATE_NONE)
    attention = models.TextField(blank=True, default='')
    # when travel support (a grant of type "speaker") was offered: the sync offers it once, never again after the
    # organizers deleted that grant or the shredder took its address
    support_offered = models.DateTimeField(null=True, blank=True)
    modified = models.DateTimeField(auto_now=True)

    objects = ScopedManager(organizer='event__organizer')

    class Meta:
        ordering = ('name', 'code')
        constraints = [
            models.UniqueConstraint(fields=('event', 'code'), name='pretix_grants_one_speaker_per_code'),
        ]


# Payout batches (claims/payouts.py): an export of payout files is a batch, so each approved claim is paid once.


class PayoutBatch(LoggedModel):
    """
    One payout file as it was handed out: the claims it pays, their total and the file itself, so that a second
    download is the same file. A claim is in at most one batch that is not cancelled (``PayoutEntry``).
    """

    FORMAT_SEPA = 'sepa'
    FORMAT_CSV = 'csv'
    FORMAT_XLSX = 'xlsx'
    FORMAT_CHOICES = (
        (FORMAT_SEPA, _('SEPA transfer (XML)')),
        (FORMAT_CSV, _('CSV')),
        (FORMAT_XLSX, _('Excel')),
    )

    event = models.ForeignKey('pretixbase.Event', on_delete=models.CASCADE, related_name='grant_payout_batches')
    format = models.CharField(max_length=8, choices=FORMAT_CHOICES)
    total = models.DecimalField(max_digits=13, decimal_places=2, default=Decimal('0.00'))
    # the file's bytes; it holds account details, so the claims shredder empties it
    content = models.BinaryField(default=b'')
    filename = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey('pretixbase.User', null=True, blank=True, on_delete=models.SET_NULL, related_name='+')
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey('pretixbase.User', null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name='+')

    objects = ScopedManager(organizer='event__organizer')

    class Meta:
        ordering = ('-created', '-id')

    @property
    def cancelled(self):
        return self.cancelled_at is not None


class PayoutEntry(models.Model):
    """A claim in a payout batch, with the amount the batch pays it; ``active`` until the batch is cancelled."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.CASCADE, related_name='entries')
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name='payout_entries')
    amount = models.DecimalField(max_digits=13, decimal_places=2)
    active = models.BooleanField(default=True)

    objects = ScopedManager(organizer='batch__event__organizer')

    class Meta:
        ordering = ('batch', 'id')
        constraints = [
            # the database's own guarantee that a claim is in one live batch at most
            models.UniqueConstraint(fields=('claim',), condition=models.Q(active=True),
                                    name='pretix_grants_claim_in_one_live_batch'),
        ]


class FileToDelete(models.Model):
    """A file of a deleted row (a receipt, a letter's PDF) the storage refused to delete: the periodic job retries."""

    name = models.CharField(max_length=255, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
