"""Event settings of the plugin and their defaults, stored by pretix's hierarkey like pretix's own."""
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext_noop
from i18nfield.strings import LazyI18nString
from pretix.base.reldate import RelativeDateWrapper
from pretix.base.settings import settings_hierarkey

SIGNATURE = gettext_noop("""

Best regards,
Your {event} team""")

MAIL_TEMPLATES = {
    'received': (
        gettext_noop('We received your grant application for {event}'),
        gettext_noop("""Hello {name},

thank you for applying for a grant for {event}. We will review your
application and let you know our decision by email.

You can check the state of your application at any time here:
{reply_url}""") + SIGNATURE,
    ),
    'decision_approved': (
        gettext_noop('Your grant for {event}: please confirm'),
        gettext_noop("""Hello {name},

we are happy to offer you a grant for {event}:

{granted_amounts}

Please tell us by {reply_deadline} whether you accept it:
{reply_url}

If we do not hear from you by then, the offer expires and we give it
to someone else.""") + SIGNATURE,
    ),
    'decision_waiting_list': (
        gettext_noop('Your grant application for {event}: waiting list'),
        gettext_noop("""Hello {name},

thank you for applying for a grant for {event}. We received more
applications than we can fund, and we have placed yours on our waiting
list. If a place becomes free, we will send you an offer by email.

You can check the state of your application here:
{reply_url}""") + SIGNATURE,
    ),
    'decision_rejected': (
        gettext_noop('Your grant application for {event}'),
        gettext_noop("""Hello {name},

thank you for applying for a grant for {event}. We are sorry that we
cannot offer you a grant this time: we received many more applications
than we could fund.""") + SIGNATURE,
    ),
    'voucher': (
        gettext_noop('Your free ticket for {event}'),
        gettext_noop("""Hello {name},

thank you for confirming your grant for {event}. Your free ticket is
waiting for you. In our ticket shop, use the voucher code

{voucher_code}

or follow this link, which fills it in for you:
{redeem_url}""") + SIGNATURE,
    ),
    'reminder': (
        gettext_noop('Reminder: please reply to your grant offer for {event}'),
        gettext_noop("""Hello {name},

we offered you a grant for {event} and have not heard back from you yet.
Please tell us by {reply_deadline} whether you accept it:
{reply_url}""") + SIGNATURE,
    ),
    'expired': (
        gettext_noop('Your grant offer for {event} has expired'),
        gettext_noop("""Hello {name},

we offered you a grant for {event} and asked you to reply by
{reply_deadline}. As we have not heard back from you, the offer has
now expired and the grant may go to someone else.

If you still want to come, please contact us as soon as possible. We
cannot promise that a grant is still available.""") + SIGNATURE,
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
}
for kind, (subject, text) in MAIL_TEMPLATES.items():
    DEFAULTS[f'grants_mail_{kind}_subject'] = (LazyI18nString.from_gettext(subject), LazyI18nString)
    DEFAULTS[f'grants_mail_{kind}_text'] = (LazyI18nString.from_gettext(text), LazyI18nString)

for key, (value, type_) in DEFAULTS.items():
    settings_hierarkey.add_default(key, value, type_)
