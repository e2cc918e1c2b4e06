"""
The programme's figures: a fixed number of aggregate queries (conditional aggregation), whatever the number of
grants, and the suppression of small numbers applied to each table (suppression.py, doc/insights.md).

Decision rounds: until the plugin has rounds of its own, a round is a day (in the event's time zone) on which
decisions were published; a grant belongs to the round of its first published decision.
"""
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count, DecimalField, Exists, Min, OuterRef, Q, Sum, Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils.timezone import make_aware
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from i18nfield.strings import LazyI18nString
from pretix.base.models import Checkin, LogEntry, OrderPosition
from pretix.helpers.countries import CachedCountries

from ..models import TICKET_VALID, Claim, ClaimItem, Grant, Review
from . import suppression as sup
from .suppression import HIDDEN, SHOWN, SMALL, WITHHELD

ZERO = Decimal('0.00')
MONEY = DecimalField(max_digits=15, decimal_places=2)
CATEGORIES = (
    ('travel', _('Travel')),
    ('accommodation', _('Accommodation')),
    ('other', _('Other')),
)
PUBLISHED = tuple(f'pretix_grants.grant.{s}' for s, label in Grant.DECISION_CHOICES)
OFFERED = (Grant.STATUS_APPROVED, Grant.STATUS_CONFIRMED, Grant.STATUS_REFUSED, Grant.STATUS_EXPIRED)
CLAIM_SUBMITTED = (Claim.STATE_SUBMITTED, Claim.STATE_APPROVED, Claim.STATE_CHANGES_REQUESTED,
                   Claim.STATE_REJECTED, Claim.STATE_PAID)
CLAIM_APPROVED = (Claim.STATE_APPROVED, Claim.STATE_PAID)
NO_ANSWER = '\x00'


def questions(event):
    """The organizer's application questions (the setting the application form reads), as stored."""
    data = event.settings.grants_application_questions or []
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = []
    return [q for q in data if isinstance(q, dict) and q.get('id') and q.get('type')
            and (q['type'] != 'choice' or isinstance(q.get('choices'), list))]


def threshold(event):
    return max(1, event.settings.get('grants_insights_threshold', as_type=int) or 1)


@dataclass
class Cell:
    """One published number: a count (or an amount with the number of grants it sums), and how it may be shown."""
    key: str
    label: str
    value: object
    state: str = SHOWN
    n: int = None  # for amounts: over how many grants
    extra: dict = field(default_factory=dict)

    @property
    def shown(self):
        return self.state == SHOWN

    def chart_value(self):
        """What a chart draws: nothing for a number that is not shown."""
        return self.value if self.shown else 0


def text(cell, k, money=None):
    """The cell as a reader sees it: the number, "fewer than k" or "not shown"."""
    if cell.state == SMALL:
        if cell.n is not None:
            return str(_('fewer than {k} grants').format(k=k))
        return str(_('fewer than {k}').format(k=k))
    if cell.state in (HIDDEN, WITHHELD):
        return str(pgettext_lazy('insights', 'not shown'))
    if money is not None:
        return money(cell.value)
    return str(cell.value)


def rounds(event):
    """[(date, number of decisions published that day)], the decision rounds (see the module's docstring)."""
    tz = event.timezone
    return [
        (r['day'], r['n']) for r in
        LogEntry.objects.filter(event=event, content_type=ContentType.objects.get_for_model(Grant),
                                action_type__in=PUBLISHED)
        .annotate(day=TruncDate('datetime', tzinfo=tz)).order_by().values('day').annotate(n=Count('pk'))
        .order_by('day')
    ]


def grants(event, statuses=None, round_day=None):
    """The event's grants, filtered by status and decision round (a day of ``rounds``)."""
    qs = Grant.objects.filter(event=event)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if round_day:
        # one subquery, not one per grant: the grants whose first published decision falls on that day
        start = make_aware(datetime.combine(round_day, time.min), event.timezone)
        first = (LogEntry.objects.filter(event=event, content_type=ContentType.objects.get_for_model(Grant),
                                         action_type__in=PUBLISHED)
                 .order_by().values('object_id').annotate(m=Min('datetime'))
                 .filter(m__gte=start, m__lt=start + timedelta(days=1)).values('object_id'))
        qs = qs.filter(pk__in=first)
    return qs


def _type_q():
    """Grant types, from what was granted (after an offer) or else asked for."""
    money_granted = Q(travel_amount__gt=0) | Q(accommodation_amount__gt=0) | Q(other_amount__gt=0)
    money_asked = Q(requested_travel__gt=0) | Q(requested_accommodation__gt=0) | Q(requested_other__gt=0)
    offered = Q(offered_at__isnull=False) | Q(status__in=OFFERED)
    money = (offered & money_granted) | (~offered & money_asked)
    ticket = (offered & Q(ticket=True)) | (~offered & Q(requested_ticket=True))
    return {
        'ticket_money': ticket & money,
        'ticket': ticket & ~money,
        'money': ~ticket & money,
        'none': ~ticket & ~money,
    }


GRANT_TYPES = (
    ('ticket_money', _('Ticket and money')),
    ('ticket', _('Ticket only')),
    ('money', _('Money only')),
    ('none', pgettext_lazy('grant type', 'Neither')),
)


def _sum(expr, q):
    return Coalesce(Sum(expr, filter=q), Value(ZERO), output_field=MONEY)


def aggregate(qs):
    """One query: every count and sum of the funnel, the statuses, the grant types and the money of ``qs``."""
    holding = Q(status__in=Grant.HOLDING)
    confirmed = Q(status=Grant.STATUS_CONFIRMED)
    offered = Q(offered_at__isnull=False) | Q(status__in=OFFERED)
    a = {
        'applied': Count('pk'),
        'reviewed': Count('pk', filter=Q(has_review=True)),
        'offered': Count('pk', filter=offered),
        'confirmed': Count('pk', filter=confirmed),
        'redeemed': Count('pk', filter=confirmed & Q(order_status__in=TICKET_VALID)),
        'checked_in': Count('pk', filter=confirmed & Q(order_status__in=TICKET_VALID, checked_in_at__isnull=False)),
        'claim_submitted': Count('pk', filter=Q(claim__state__in=CLAIM_SUBMITTED)),
        'paid': Count('pk', filter=Q(claim__state=Claim.STATE_PAID)),
        'approved_sum': _sum('claim__approved_amount', Q(claim__state__in=CLAIM_APPROVED)),
        'approved_n': Count('pk', filter=Q(claim__state__in=CLAIM_APPROVED)),
        'paid_sum': _sum('claim__approved_amount', Q(claim__state=Claim.STATE_PAID)),
    }
    for s, label in Grant.STATUS_CHOICES:
        a[f'status_{s}'] = Count('pk', filter=Q(status=s))
    for t, q in _type_q().items():
        a[f'type_{t}'] = Count('pk', filter=q)
    for t, label in Grant.TYPE_CHOICES:
        a[f'kind_{t}'] = Count('pk', filter=Q(grant_type=t))
    for c, label in CATEGORIES:
        amount = f'{c}_amount'
        a[f'granted_{c}'] = _sum(amount, holding)
        a[f'granted_{c}_n'] = Count('pk', filter=holding & Q(**{f'{amount}__gt': 0}))
        a[f'confirmed_{c}'] = _sum(amount, confirmed)
        a[f'confirmed_{c}_n'] = Count('pk', filter=confirmed & Q(**{f'{amount}__gt': 0}))
    return qs.annotate(has_review=Exists(Review.objects.filter(grant=OuterRef('pk')))).aggregate(**a)


def claimed(qs):
    """One query: the amounts of the submitted claims per category, and over how many claims each."""
    rows = (ClaimItem.objects.filter(claim__grant__in=qs.values('pk'), claim__state__in=CLAIM_SUBMITTED, amount__gt=0)
            .order_by().values('category').annotate(s=Sum('amount'), n=Count('pk')))
    return {r['category']: (r['s'] or ZERO, r['n']) for r in rows}


def per_day(qs, event):
    """One query: applications per day (event's time zone)."""
    return list(qs.annotate(day=TruncDate('created', tzinfo=event.timezone)).order_by().values('day')
                .annotate(n=Count('pk')).order_by('day').values_list('day', 'n'))


def attendance(event):
    """One query: admission tickets of valid orders of the event, and how many of them were checked in."""
    return OrderPosition.objects.filter(
        order__event=event, order__status__in=TICKET_VALID, item__admission=True,
    ).aggregate(
        tickets=Count('pk'),
        checked_in=Count('pk', filter=Q(Exists(Checkin.objects.filter(
            position=OuterRef('pk'), successful=True, type=Checkin.TYPE_ENTRY)))),
    )


def _choice_label(q, value):
    if q['type'] == 'boolean':
        return str(_('Yes') if value else _('No'))
    if q['type'] == 'choice':
        try:
            return str(LazyI18nString(q['choices'][int(value)]))
        except (ValueError, IndexError, TypeError):
            return str(value)
    return str(value)


def _country_labels():
    names = dict(CachedCountries())
    return lambda value: str(names.get(str(value).strip().upper(), value))


def answers(qs, event, questions):
    """One query: the answers of ``qs`` to the country question and the choice/yes-no questions, counted."""
    country_q = event.settings.grants_insights_country_question or ''
    counted = {q['id']: Counter() for q in questions if q['type'] in ('choice', 'boolean') or q['id'] == country_q}
    for row in qs.values_list('answers', flat=True):
        row = row or {}
        for qid, counter in counted.items():
            value = row.get(qid)
            if value in (None, ''):
                counter[NO_ANSWER] += 1
            elif qid == country_q:
                counter[str(value).strip().upper() if len(str(value).strip()) == 2 else str(value).strip()] += 1
            else:
                counter[str(value)] += 1
    return country_q, counted


def _table(key, title, cells, k, total):
    """A protected table: the cells' states from ``suppression.protect`` (the total is the number of grants)."""
    states, total_state = sup.protect([c.value for c in cells], k)
    for c, s in zip(cells, states):
        c.state = s
    return {'key': key, 'title': title, 'cells': cells,
            'total': Cell('total', str(_('Total')), total, total_state),
            'withheld': bool(cells) and all(c.state == WITHHELD for c in cells)}


def _answer_table(key, title, counter, label, k, total, order=None):
    keys = order if order is not None else sorted((v for v in counter if v != NO_ANSWER),
                                                  key=lambda v: (-counter[v], label(v)))
    cells = [Cell(str(v), label(v), counter.get(v, 0)) for v in keys]
    cells.append(Cell('none', str(_('No answer')), counter.get(NO_ANSWER, 0)))
    return _table(key, title, cells, k, total)


def figures(event, questions, statuses=None, round_day=None, decision_rounds=None):
    """
    Everything the page, the CSV and the report show, suppressed: a fixed number of queries (rounds, aggregate,
    claimed, per day, answers, attendance).
    """
    k = threshold(event)
    qs = grants(event, statuses, round_day)
    a = aggregate(qs)
    applied = a['applied']
    total_state = sup.protect_count(applied, k)

    status_cells = [Cell(s, str(label), a[f'status_{s}']) for s, label in Grant.STATUS_CHOICES]
    statuses_table = _table('status', _('Status'), status_cells, k, applied)
    by_status = {c.key: c for c in status_cells}

    steps = [
        ('applied', pgettext_lazy('funnel', 'Applied')), ('reviewed', pgettext_lazy('funnel', 'Reviewed')),
        ('offered', pgettext_lazy('funnel', 'Offered a grant')), ('confirmed', pgettext_lazy('funnel', 'Confirmed')),
        ('redeemed', pgettext_lazy('funnel', 'Voucher redeemed')), ('checked_in', pgettext_lazy('funnel', 'Checked in')),
        ('claim_submitted', pgettext_lazy('funnel', 'Claim submitted')),
        ('paid', pgettext_lazy('funnel', 'Paid')),
    ]
    funnel = [Cell(key, str(label), a[key]) for key, label in steps]
    # the confirmed step is also the status table's "confirmed" cell: both are shown alike
    if by_status[Grant.STATUS_CONFIRMED].state != SHOWN:
        funnel[3].state = by_status[Grant.STATUS_CONFIRMED].state
    for c, s in zip(funnel, sup.protect_chain([c.value for c in funnel], k, [c.state for c in funnel])):
        c.state = s
    if funnel[3].state != SHOWN and by_status[Grant.STATUS_CONFIRMED].state == SHOWN:
        by_status[Grant.STATUS_CONFIRMED].state = HIDDEN
    for c in funnel:
        c.extra['pct'] = (round(100 * c.value / applied) if applied and c.shown and funnel[0].shown else None)
    leaving = {
        'reviewed': [Grant.STATUS_PENDING],
        'offered': [Grant.STATUS_REJECTED, Grant.STATUS_WAITING_LIST],
        'confirmed': [Grant.STATUS_REFUSED, Grant.STATUS_EXPIRED, Grant.STATUS_APPROVED, Grant.STATUS_CANCELLED],
    }
    for c in funnel:
        c.extra['leaving'] = [by_status[s] for s in leaving.get(c.key, [])]

    types_table = _table('type', _('Grant type'), [Cell(t, str(label), a[f'type_{t}']) for t, label in GRANT_TYPES],
                         k, applied)

    claims = claimed(qs)
    money = _money(event, a, claims, k)

    days = per_day(qs, event)
    day_cells = [Cell(d.isoformat(), d.isoformat(), n) for d, n in days]
    days_table = _table('days', _('Applications per day'), day_cells, k, applied)

    country_q, counted = answers(qs, event, questions)
    who = []
    if a[f'kind_{Grant.TYPE_SPEAKER}']:
        # speakers' travel support (speakers/), where the programme has any
        who.append(_table('kind', _('Applicants and speakers'),
                          [Cell(t, str(label), a[f'kind_{t}']) for t, label in Grant.TYPE_CHOICES], k, applied))
    if country_q in counted:
        who.append(_answer_table('country', _('Country of residence'), counted[country_q], _country_labels(), k, applied))
    for q in questions:
        if q['id'] in counted and q['id'] != country_q:
            order = ['True', 'False'] if q['type'] == 'boolean' else [str(i) for i in range(len(q['choices']))]
            labels = {v: _choice_label(q, v == 'True' if q['type'] == 'boolean' else v) for v in order}
            who.append(_answer_table(f'q_{q["id"]}', str(LazyI18nString(q['question'])), counted[q['id']],
                                     lambda v, labels=labels: labels.get(v, v), k, applied, order=order))

    att = attendance(event)
    redeemed, checked = funnel[4], funnel[5]
    attendance_rows = {
        'grantees': _rate(checked, redeemed),
        'all': _rate(Cell('checked', '', att['checked_in'], sup.protect_count(att['checked_in'], k)),
                     Cell('tickets', '', att['tickets'], sup.protect_count(att['tickets'], k))),
        'tickets': att['tickets'],
    }
    return {
        'k': k,
        'applied': Cell('applied', str(_('Applications')), applied, total_state),
        'funnel': funnel,
        'statuses': statuses_table,
        'types': types_table,
        'money': money,
        'days': days_table,
        'who': who,
        'attendance': attendance_rows,
        'rounds': rounds(event) if decision_rounds is None else decision_rounds,
        'application_period': (event.settings.get('grants_applications_open'),
                               event.settings.get('grants_applications_close')),
    }


def _rate(part, whole):
    if not part.shown or not whole.shown or not whole.value:
        return None
    return round(100 * part.value / whole.value)


def _money(event, a, claims, k):
    """Money per category (granted, confirmed, claimed, its budget and what is left of it) and in total (also
    approved and paid)."""
    columns = {}
    for col in ('granted', 'confirmed', 'claimed'):
        cells = []
        for c, label in CATEGORIES:
            if col == 'claimed':
                value, n = claims.get(c, (ZERO, 0))
            else:
                value, n = a[f'{col}_{c}'], a[f'{col}_{c}_n']
            cells.append(Cell(c, str(label), value, n=n))
        states, total_state = sup.protect_sums([c.n for c in cells], k)
        for cell, s in zip(cells, states):
            cell.state = s
        total = Cell('total', str(_('Total')), sum((c.value for c in cells), ZERO),
                     n=sum(c.n for c in cells), state=total_state)
        columns[col] = (cells, total)
    approved = Cell('approved', '', a['approved_sum'], n=a['approved_n'],
                    state=sup.protect_count(a['approved_n'], k))
    paid = Cell('paid', '', a['paid_sum'], n=a['paid'], state=sup.protect_count(a['paid'], k))
    granted_total = columns['granted'][1]
    budget, left = _budget(event.settings.get('grants_budget', as_type=Decimal), granted_total)
    rows = []
    for i, (c, label) in enumerate(CATEGORIES):
        granted = columns['granted'][0][i]
        row_budget, row_left = _budget(event.settings.get(f'grants_budget_{c}', as_type=Decimal), granted)
        rows.append({'key': c, 'label': str(label), 'granted': granted, 'confirmed': columns['confirmed'][0][i],
                     'claimed': columns['claimed'][0][i], 'budget': row_budget, 'left': row_left})
    return {'rows': rows, 'granted': granted_total, 'confirmed': columns['confirmed'][1],
            'claimed': columns['claimed'][1], 'approved': approved, 'paid': paid, 'budget': budget, 'left': left,
            'has_budget': budget is not None or any(r['budget'] is not None for r in rows)}


def _budget(amount, granted):
    """
    A budget (a setting, published as it is) and what is left of it after ``granted``: the budget is known, so what
    is left tells the granted amount and is "not shown" wherever that is not shown.
    """
    if amount is None:
        return None, None
    return Cell('budget', '', amount), Cell('left', '', amount - granted.value, state=SHOWN if granted.shown else HIDDEN)


def flat(fig):
    """Every published figure as (section, label, value or None, text): the CSV and the tests read this."""
    k = fig['k']
    rows = [('programme', str(_('Applications')), fig['applied'])]
    for c in fig['funnel']:
        rows.append(('funnel', c.label, c))
    for c in fig['statuses']['cells']:
        rows.append(('status', c.label, c))
    for c in fig['types']['cells']:
        rows.append(('grant_type', c.label, c))
    for t in fig['who']:
        for c in t['cells']:
            rows.append((t['key'], c.label, c))
    for c in fig['days']['cells']:
        rows.append(('day', c.label, c))
    m = fig['money']
    for r in m['rows']:
        for col in ('granted', 'confirmed', 'claimed', 'budget', 'left'):
            if r[col] is not None:
                rows.append((f'money_{col}', r['label'], r[col]))
    for col in ('granted', 'confirmed', 'claimed', 'approved', 'paid', 'budget', 'left'):
        if m[col] is not None:
            rows.append((f'money_{col}', str(_('Total')), m[col]))
    out = []
    for section, label, cell in rows:
        out.append((section, label, cell.value if cell.shown else None, text(cell, k)))
    return out
