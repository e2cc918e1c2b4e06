from decimal import Decimal

from django.utils.translation import gettext_lazy as _, pgettext_lazy
from i18nfield.strings import LazyI18nString
from pretix.base.exporter import ListExporter
from pretix.base.models import OrderPosition, User

from .. import reviews
from ..applications import questions
from ..models import Grant
from ..permissions import REVIEW, VIEW
from ..spreadsheets import clean_rows

MAIL_STATES = {'failed': _('failed'), 'queued': _('queued'), 'sent': _('sent'), '': ''}


def cents(value):
    """A sum the database computed, with two decimal places like every other amount (SQLite's sum drops them)."""
    return Decimal(value or 0).quantize(Decimal('0.01'))


class GrantExporter(ListExporter):
    identifier = 'pretix_grants'
    verbose_name = _('Grants')
    category = pgettext_lazy('export_category', 'Grants')
    description = _('Download a spreadsheet of all grants with their decisions, vouchers and mail states.')

    @classmethod
    def get_required_event_permission(cls):
        return VIEW

    @clean_rows
    def iterate_list(self, form_data):
        grants = (Grant.objects.filter(event=self.event).select_related('voucher').with_mail_state().with_total()
                  .order_by('created', 'pk'))
        # review figures as the exporting person may see them (reviews.py): blind for a reviewer who has not scored
        holder = self.permission_holder
        blind = holder is not None and holder.has_event_permission(self.event.organizer, self.event, REVIEW)
        grants = reviews.annotate(grants, holder if isinstance(holder, User) else None, blind)
        qs = questions(self.event)
        orders = self._order_codes(grants)
        yield [
            _('Name'), _('Email'), _('Language'), _('Type'), _('Status'), _('Staged decision'), _('Reply deadline'),
            _('Free ticket'), _('Travel'), _('Accommodation'), _('Other'), _('Total'), _('Voucher code'),
            _('Voucher state'), _('Order code'), _('Mail state'), _('Applied'),
            _('Requested: ticket'), _('Requested: travel'), _('Requested: accommodation'), _('Requested: other'),
            _('Requested: total'), _('Justification of the amounts'), _('Why they want to attend'),
            _('Reviews'), _('Mean score'), _('Standard deviation'),
            *[str(LazyI18nString(q['question'])) for q in qs],
        ]
        tz = self.event.timezone
        fmt = '%Y-%m-%d %H:%M:%S'
        for g in grants:
            mail_state = MAIL_STATES[g.mail_state]
            yield [
                g.name, g.email, g.locale, g.get_grant_type_display(), g.get_status_display(),
                g.get_decision_display() or '',
                g.reply_deadline.astimezone(tz).strftime(fmt) if g.reply_deadline else '',
                _('Yes') if g.ticket else _('No'),
                g.travel_amount, g.accommodation_amount, g.other_amount, cents(g.total),
                g.voucher.code if g.voucher else '', g.get_voucher_state_display(),
                ', '.join(orders.get(g.voucher_id, [])), mail_state,
                g.created.astimezone(tz).strftime(fmt),
                _('Yes') if g.requested_ticket else _('No'), g.requested_travel, g.requested_accommodation,
                g.requested_other, cents(g.requested_total), g.justification, g.motivation, g.review_count,
                round(g.review_mean, 2) if g.review_mean is not None else '',
                round(g.review_stddev, 2) if g.review_stddev is not None else '',
                *answer_columns(qs, g),
            ]

    def _order_codes(self, grants):
        """Codes of the orders each grant voucher was used in, in one query."""
        codes = {}
        rows = OrderPosition.all.filter(
            voucher__in=[g.voucher_id for g in grants if g.voucher_id], order__event=self.event,
        ).values_list('voucher_id', 'order__code').distinct()
        for voucher_id, code in rows:
            codes.setdefault(voucher_id, []).append(code)
        return codes

    def get_filename(self):
        return f'{self.event.slug}_grants'


def answer_columns(qs, grant):
    """The answers to the extra questions, one column each, in the questions' order."""
    answers = grant.answers or {}
    row = []
    for q in qs:
        value = answers.get(q['id'], '')
        if q['type'] == 'boolean' and value != '':
            value = _('Yes') if value else _('No')
        elif q['type'] == 'choice' and value != '':
            try:
                value = str(LazyI18nString(q['choices'][int(value)]))
            except (ValueError, IndexError):
                pass
        row.append(value)
    return row
