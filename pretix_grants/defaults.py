"""Event settings of the plugin and their defaults, stored by pretix's hierarkey like pretix's own."""
from datetime import datetime
from decimal import Decimal

from django.core.files import File
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy, gettext_noop
from i18nfield.strings import LazyI18nString
from pretix.base.reldate import RelativeDateWrapper
from pretix.base.settings import settings_hierarkey

SIGNATURE = gettext_noop("""

Best regards,
Your {event} team""")


def _signed(text):
    """A mail text and the signature, each translated on its own (a joined string would be a msgid of neither)."""
    return format_lazy('{}{}', gettext_lazy(text), gettext_lazy(SIGNATURE))


MAIL_TEMPLATES = {
    'received': (
        gettext_noop('We received your grant application for {event}'),
        _signed(gettext_noop("""Hello {name},

thank you for applying for a grant for {event}. We will review your
application and let you know our decision by email.

You can check the state of your application at any time here:
{reply_url}""")),
    ),
    'decision_approved': (
        gettext_noop('Your grant for {event}: please confirm'),
        _signed(gettext_noop("""Hello {name},

we are happy to offer you a grant for {event}:

{granted_amounts}

Please tell us by {reply_deadline} whether you accept it:
{reply_url}

If we do not hear from you by then, the offer expires and we give it
to someone else.""")),
    ),
    'decision_waiting_list': (
        gettext_noop('Your grant application for {event}: waiting list'),
        _signed(gettext_noop("""Hello {name},

thank you for applying for a grant for {event}. We received more
applications than we can fund, and we have placed yours on our waiting
list. If a place becomes free, we will send you an offer by email.

You can check the state of your application here:
{reply_url}""")),
    ),
    'decision_rejected': (
        gettext_noop('Your grant application for {event}'),
        _signed(gettext_noop("""Hello {name},

thank you for applying for a grant for {event}. We are sorry that we
cannot offer you a grant this time: we received many more applications
than we could fund.""")),
    ),
    'voucher': (
        gettext_noop('Your free ticket for {event}'),
        _signed(gettext_noop("""Hello {name},

thank you for confirming your grant for {event}. Your free ticket is
waiting for you. In our ticket shop, use the voucher code

{voucher_code}

or follow this link, which fills it in for you:
{redeem_url}""")),
    ),
    'reminder': (
        gettext_noop('Reminder: please reply to your grant offer for {event}'),
        _signed(gettext_noop("""Hello {name},

we offered you a grant for {event} and have not heard back from you yet.
Please tell us by {reply_deadline} whether you accept it:
{reply_url}""")),
    ),
    'expired': (
        gettext_noop('Your grant offer for {event} has expired'),
        _signed(gettext_noop("""Hello {name},

we offered you a grant for {event} and asked you to reply by
{reply_deadline}. As we have not heard back from you, the offer has
now expired and the grant may go to someone else.

If you still want to come, please contact us as soon as possible. We
cannot promise that a grant is still available.""")),
    ),
}

DEFAULTS = {
    # pk of the product (and variation) or quota a grant voucher is valid for
    'grants_voucher_item': (None, int),
    'grants_voucher_variation': (None, int),
    'grants_voucher_quota': (None, int),
    # None: valid until the event ends
    'grants_voucher_valid_until': (None, RelativeDateWrapper),
    'grants_voucher_tag': ('grant', str),
    'grants_voucher_block_quota': (True, bool),
    'grants_reply_days': (14, int),
    'grants_budget': (None, Decimal),
    # lifecycle.py: reminders and waiting-list promotion (labels on the settings page: control/forms.py)
    'grants_reminder_days': (3, int),
    'grants_promote_waiting_list': (False, bool),
    'grants_max_offers': (None, int),
    # applications.py: the application form in the shop and its extra questions (a JSON list)
    'grants_applications_open': (None, datetime),
    'grants_applications_close': (None, datetime),
    'grants_application_questions': ([], list),
    # retention.py: days after the claim deadline (claims) or the event's end (letters) before the most sensitive
    # personal data is erased
    'grants_retention_days': (90, int),
}


def register(section, mail_templates=None):
    """A section's settings, with the subject and text of each of its mail templates, as hierarkey defaults."""
    for kind, (subject, text) in (mail_templates or {}).items():
        section[f'grants_mail_{kind}_subject'] = (LazyI18nString.from_gettext(subject), LazyI18nString)
        section[f'grants_mail_{kind}_text'] = (LazyI18nString.from_gettext(text), LazyI18nString)
    for key, (value, type_) in section.items():
        settings_hierarkey.add_default(key, value, type_)
    return section


register(DEFAULTS, MAIL_TEMPLATES)


def stalled_mail_seconds(email_timeout):
    """
    How long a grant mail handed to pretix may stay queued or being sent before the plugin's sweep sends it again
    (``mails.resend_stalled``), unless pretix.cfg sets ``[grants] stalled_mail_seconds``. Five SMTP timeouts, so a
    live send to a slow server (a connection, a greeting and a few commands, each allowed ``email_timeout``) is over
    before the sweep would double it; never under two minutes. 300 s with pretix's default timeout of 60 s.
    """
    return max(120, 5 * int(email_timeout))


# Visa invitation letters (letters.py): who may ask, the letter's text and signature, and the mails about it.
# Paragraphs are separated by an empty line; the lines of a paragraph are joined (letter_pdf.py).
LETTER_TEXT = gettext_noop("""To whom it may concern,

We are pleased to invite {name} (nationality: {nationality}, born on {date_of_birth}, passport number
{passport_number}, valid until {passport_expiry}) to attend {event}, which takes place on {event_dates} at {venue}.

{grant_coverage}

We kindly ask you to issue {name} the visa needed to attend the event. You can verify this letter online
with the reference {reference} at the address printed below.""")

LETTER_MAIL_TEMPLATES = {
    'letter_requested': (
        gettext_noop('We received your request for an invitation letter for {event}'),
        _signed(gettext_noop("""Hello {name},

we received your request for a visa invitation letter for {event}
(reference {reference}). We will let you know by email as soon as it is
ready. You can check its state here:
{letter_url}""")),
    ),
    'letter_approved': (
        gettext_noop('Your invitation letter for {event}'),
        _signed(gettext_noop("""Hello {name},

your visa invitation letter for {event} is attached to this email
(reference {reference}). You can also download it here:
{letter_url}

A consulate can check the letter with the QR code printed on it.""")),
    ),
    'letter_rejected': (
        gettext_noop('Your request for an invitation letter for {event}'),
        _signed(gettext_noop("""Hello {name},

we are sorry that we cannot issue the visa invitation letter for {event}
you asked for (reference {reference}).

{reason}

If you have questions, please reply to this email.""")),
    ),
    'letter_cancelled': (
        gettext_noop('Your invitation letter for {event} has been withdrawn'),
        _signed(gettext_noop("""Hello {name},

the visa invitation letter for {event} with the reference {reference}
has been withdrawn and is no longer valid.

{reason}

If you have questions, please reply to this email.""")),
    ),
}

LETTER_DEFAULTS = {
    'grants_letters_grantees': (False, bool),
    'grants_letters_ticket_holders': (False, bool),
    'grants_letters_auto_approve': (False, bool),
    'grants_letter_text': (LazyI18nString.from_gettext(LETTER_TEXT), LazyI18nString),
    'grants_letter_signatory_name': ('', str),
    # printed in the letter's language, as its text is
    'grants_letter_signatory_role': ('', LazyI18nString),
    'grants_letter_contact': ('', LazyI18nString),
    # None: pretix's event logo is the letterhead
    'grants_letter_logo': (None, File),
    'grants_letter_signature': (None, File),
}
register(LETTER_DEFAULTS, LETTER_MAIL_TEMPLATES)

# claims.py: reimbursement claims after the event, their mails and the organizer's payout account
CLAIM_MAIL_TEMPLATES = {
    'claim_submitted': (
        gettext_noop('We received your reimbursement claim for {event}'),
        _signed(gettext_noop("""Hello {name},

thank you for sending us your reimbursement claim for {event} over
{claim_amount}. We will check it and let you know our decision by email.

You can see its state at any time here:
{claim_url}""")),
    ),
    'claim_changes_requested': (
        gettext_noop('Your reimbursement claim for {event}: please make changes'),
        _signed(gettext_noop("""Hello {name},

we have looked at your reimbursement claim for {event} and need you to
change something before we can approve it:

{claim_message}

Please change your claim and send it again here:
{claim_url}""")),
    ),
    'claim_approved': (
        gettext_noop('Your reimbursement claim for {event} has been approved'),
        _signed(gettext_noop("""Hello {name},

we have approved your reimbursement claim for {event}: we will pay you
{claim_approved_amount}.

{claim_message}

We will let you know once the money is on its way.""")),
    ),
    'claim_rejected': (
        gettext_noop('Your reimbursement claim for {event}'),
        _signed(gettext_noop("""Hello {name},

we are sorry: we cannot approve your reimbursement claim for {event}.

{claim_message}

If you have questions, please reply to this email.""")),
    ),
    'claim_paid': (
        gettext_noop('Your reimbursement for {event} is on its way'),
        _signed(gettext_noop("""Hello {name},

we have paid out your reimbursement for {event} of
{claim_approved_amount}. Depending on your bank, it may take a few days
to arrive.""")),
    ),
    'claim_reminder': (
        gettext_noop('Reminder: claim your reimbursement for {event}'),
        _signed(gettext_noop("""Hello {name},

your grant for {event} includes:

{granted_amounts}

Please send us your claim with the receipts by {claim_deadline}:
{claim_url}

After that date we cannot reimburse you any more.""")),
    ),
}
MAIL_TEMPLATES.update(CLAIM_MAIL_TEMPLATES)
CLAIM_DEFAULTS = {
    # None: claims open when the event starts
    'grants_claims_open': (None, datetime),
    # None: the event's end (or start) plus grants_claims_days
    'grants_claims_deadline': (None, datetime),
    'grants_claims_days': (30, int),
    'grants_claims_reminder_days': (7, int),
    'grants_claims_require_checkin': (False, bool),
    # whether grantees may give another payout method than a bank account (e.g. a PayPal address)
    'grants_claims_allow_other_payout': (False, bool),
    # the organizer's own account, the debtor of the SEPA transfer file
    'grants_payout_account_holder': ('', str),
    'grants_payout_iban': ('', str),
    'grants_payout_bic': ('', str),
}
DEFAULTS.update(register(CLAIM_DEFAULTS, CLAIM_MAIL_TEMPLATES))


# tickets/: the ticket a grantee bought themselves, and places held for applicants
TICKET_MAIL_TEMPLATES = {
    'own_ticket_refunded': (
        gettext_noop('Your grant for {event}: your ticket is refunded'),
        _signed(gettext_noop("""Hello {name},

your grant for {event} includes a free ticket. You have already bought
one (order {own_ticket_order}), so we do not send you a voucher: your
ticket stays valid, and we refund what you paid for it,
{own_ticket_refund}, through the payment you made.""")),
    ),
    'own_ticket_free': (
        gettext_noop('Your grant for {event}: your ticket is free'),
        _signed(gettext_noop("""Hello {name},

your grant for {event} includes a free ticket. You have already ordered
one (order {own_ticket_order}) and not paid it yet: we have made it
free, so you do not need to pay anything. It is your ticket for the
event, and we do not send you a voucher.""")),
    ),
    'own_ticket_kept': (
        gettext_noop('Your grant for {event}: your ticket'),
        _signed(gettext_noop("""Hello {name},

your grant for {event} includes a free ticket. You have already bought
one (order {own_ticket_order}); it stays as it is and is your ticket for
the event, so we do not send you a voucher.""")),
    ),
}
MAIL_TEMPLATES.update(TICKET_MAIL_TEMPLATES)
TICKET_DEFAULTS = {
    # what confirming a grant does for a person who bought a ticket: 'voucher' (issue one anyway), 'refund',
    # 'keep' or 'ask' (the grantee chooses on their reply page)
    'grants_own_ticket': ('voucher', str),
    # hold a ticket in the grant product's quota for applicants: '' (no), 'pending' (from the application) or
    # 'approved' (from the offer)
    'grants_hold_tickets': ('', str),
}
DEFAULTS.update(register(TICKET_DEFAULTS, TICKET_MAIL_TEMPLATES))

# decisions/: the allocation proposal's budgets per category and caps per grant (None: none), the ranking's score,
# the second round from declined offers ('off': the plain waiting-list promotion above; 'propose'; 'auto'), and who
# is tied at the funding line ('overlap': ranges of score ± standard error; 'equal': equal scores as shown)
DECISION_DEFAULTS = {
    'grants_budget_travel': (None, Decimal),
    'grants_budget_accommodation': (None, Decimal),
    'grants_budget_other': (None, Decimal),
    'grants_cap_travel': (None, Decimal),
    'grants_cap_accommodation': (None, Decimal),
    'grants_cap_other': (None, Decimal),
    'grants_ranking_basis': ('raw', str),
    'grants_second_round': ('off', str),
    'grants_tie_rule': ('overlap', str),
}
DEFAULTS.update(register(DECISION_DEFAULTS))

# Speakers from pretalx (speakers/): the connection, the voucher rules, the sync's record and the speaker's mail.
SPEAKER_MAIL_TEMPLATES = {
    'speaker_voucher': (
        gettext_noop('Your speaker ticket for {event}'),
        _signed(gettext_noop("""Hello {name},

thank you for speaking at {event}:
{talks}

Your voucher for your ticket is {voucher}. You can redeem it here:
{redeem_url}""")),
    ),
}
SPEAKER_DEFAULTS = {
    'grants_pretalx_url': ('', str),
    'grants_pretalx_event': ('', str),
    'grants_pretalx_token': ('', str),
    'grants_pretalx_states': (['accepted', 'confirmed'], list),
    # further speakers of a talk: 'free', 'percent' or 'amount' (grants_speakers_co_value off the price)
    'grants_speakers_co_mode': ('percent', str),
    'grants_speakers_co_value': (Decimal('25.00'), Decimal),
    # pk of a product of the speakers' own; None: the grant vouchers' product
    'grants_speakers_item': (None, int),
    'grants_speakers_auto_sync': (False, bool),
    # travel support for speakers: grants of type "speaker" with these requested amounts; the id of a yes/no
    # speaker question of the pretalx event whose "yes" makes the sync offer it by itself (None: by button only)
    'grants_speakers_support_travel': (None, Decimal),
    'grants_speakers_support_accommodation': (None, Decimal),
    'grants_speakers_support_question': (None, int),
    'grants_pretalx_last_attempt': (None, datetime),
    'grants_pretalx_last_sync': (None, datetime),
    'grants_pretalx_last_error': ('', str),
}
register(SPEAKER_DEFAULTS, SPEAKER_MAIL_TEMPLATES)

# insights/: the statistics page and the post-event report (small-number threshold, country question, introduction)
INSIGHTS_DEFAULTS = {
    'grants_insights_threshold': (5, int),
    # the id of the application question whose answer is the applicant's country of residence
    'grants_insights_country_question': ('country', str),
    'grants_insights_intro': (LazyI18nString(''), LazyI18nString),
}
DEFAULTS.update(register(INSIGHTS_DEFAULTS))
