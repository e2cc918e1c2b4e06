"""
An event's decision day on the database: load the applications, their reviews and the money in a constant number
of queries, run the pure rules (``rules``), put their reasons into words, stage the proposal through ``workflow``,
make the draws at the line and re-allocate freed money in a second round.
"""
import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from pretix.base.templatetags.money import money_filter

from .. import lifecycle, workflow
from ..models import Conflict, Draw, Grant, Review
from . import rules

logger = logging.getLogger(__name__)

OPEN = (Grant.STATUS_PENDING, Grant.STATUS_WAITING_LIST)
# the changes that give money back to the second round
FREEING = {
    (Grant.STATUS_APPROVED, Grant.STATUS_EXPIRED),
    (Grant.STATUS_APPROVED, Grant.STATUS_REFUSED),
    (Grant.STATUS_APPROVED, Grant.STATUS_CANCELLED),
    (Grant.STATUS_CONFIRMED, Grant.STATUS_REFUSED),
    (Grant.STATUS_CONFIRMED, Grant.STATUS_CANCELLED),
}
CATEGORY_LABELS = {
    'travel': pgettext_lazy('grant category', 'travel'),
    'accommodation': pgettext_lazy('grant category', 'accommodation'),
    'other': pgettext_lazy('grant category', 'other'),
}
STRATEGIES = (
    (rules.BY_RANK, _('By rank: down the ranking until the budget is used')),
    (rules.MOST_PEOPLE, _('Most people: as many grantees as possible above a minimum score')),
)
BASES = (
    (rules.RAW, _('Mean score')),
    (rules.CALIBRATED, _('Calibrated score')),
)


class DrawError(ValueError):
    pass


@dataclass
class Applicant:
    """What the proposal shows of an application: read as plain values, not as model instances (10,000 of them)."""
    pk: int
    name: str
    status: str
    requested_amounts: dict

    @property
    def requested_total(self):
        return rules.total(self.requested_amounts)


@dataclass
class Options:
    strategy: str = rules.BY_RANK
    basis: str = rules.RAW
    part: Decimal = Decimal('1')
    min_score: float = None


@dataclass
class Row:
    grant: Applicant
    score: rules.Score
    line: rules.Line
    event: object
    tie: tuple = None  # (drawn position, number drawn)
    tied: bool = False
    cumulative: Decimal = None

    @property
    def reason(self):
        """The reason in words, made when read: pretix's money format costs about a millisecond per amount."""
        return reason_text(self.line, self.event, self.tie)


@dataclass
class Proposal:
    rows: list
    programme: rules.Programme
    options: Options
    band: list = field(default_factory=list)
    draw: Draw = None  # the draw that ordered the band, if made
    pending_draw: Draw = None  # a draw committed to and not yet made
    used: Decimal = None

    @property
    def funded(self):
        return [r for r in self.rows if r.line.funded]

    @property
    def offered_total(self):
        return sum((rules.total(r.line.amounts) for r in self.funded), rules.ZERO)

    @property
    def needs_draw(self):
        return bool(self.band) and self.draw is None


def _setting(event, key):
    return event.settings.get(key, as_type=Decimal)


def tie_rule(event):
    """The programme's rule for who is tied at the line (``rules.OVERLAP`` or ``rules.EQUAL``)."""
    rule = event.settings.get('grants_tie_rule', as_type=str)
    return rule if rule in (rules.OVERLAP, rules.EQUAL) else rules.OVERLAP


def programme_of(event, options):
    """What is still available: the budgets minus what offered and confirmed grants hold; the caps."""
    holding = Grant.objects.filter(event=event).holding_place()
    used = holding.granted_total()
    budget = _setting(event, 'grants_budget')
    category_budgets = {}
    sums = holding.values_list('travel_amount', 'accommodation_amount', 'other_amount')
    per = {c: rules.ZERO for c in rules.CATEGORIES}
    limits = {c: _setting(event, f'grants_budget_{c}') for c in rules.CATEGORIES}
    if any(v is not None for v in limits.values()):
        for row in sums:
            for c, v in zip(rules.CATEGORIES, row):
                per[c] += v
    for c in rules.CATEGORIES:
        category_budgets[c] = max(limits[c] - per[c], rules.ZERO) if limits[c] is not None else None
    max_offers = event.settings.get('grants_max_offers', as_type=int)
    if max_offers is not None:
        max_offers = max(max_offers - holding.count(), 0)
    return rules.Programme(
        budget=max(budget - used, rules.ZERO) if budget is not None else None,
        category_budgets=category_budgets,
        caps={c: _setting(event, f'grants_cap_{c}') for c in rules.CATEGORIES},
        max_offers=max_offers, part=options.part, min_score=options.min_score, strategy=options.strategy,
        tie_rule=tie_rule(event),
    ), used


def event_scores(event):
    """``{grant id: rules.Score}`` from every review of the event (reviewers' habits show across all of them)."""
    # no ORDER BY: the figures do not depend on the order (sorting 50,000 rows would cost the database more)
    return rules.scores(Review.objects.filter(grant__event=event).order_by().values_list('grant_id', 'user_id', 'score'))


def current_draw(event, band):
    """The latest draw for this line (the same tied ids), made or only committed to."""
    if not band:
        return None
    return Draw.objects.filter(event=event, band=rules.band_key(band), superseded=False).order_by('-created', '-pk').first()


def reason_text(line, event, tie=None):
    cur = event.currency
    f = line.figures
    if line.reason == rules.FUNDED:
        text = _('within the budget')
    elif line.reason == rules.CAPPED:
        text = _('over the {category} cap: offered {offered} of {requested}').format(
            category=CATEGORY_LABELS[f['category']], offered=money_filter(f['offered'], cur),
            requested=money_filter(f['requested'], cur))
    elif line.reason == rules.BELOW_LINE:
        text = _('below the line by {amount}').format(amount=money_filter(f['short'], cur))
    elif line.reason == rules.CATEGORY_FULL:
        text = _('the {category} budget is short by {amount}').format(
            category=CATEGORY_LABELS[f['category']], amount=money_filter(f['short'], cur))
    elif line.reason == rules.MAX_OFFERS:
        text = _('the maximum number of offers is reached')
    elif line.reason == rules.BELOW_MIN:
        text = _('below the minimum score')
    else:
        text = _('no reviews yet')
    if tie:
        text = _('tie at the line: drawn {position} of {count}; {reason}').format(
            position=tie[0], count=tie[1], reason=text)
    return str(text)


def propose(event, options=None):
    """The proposal for the event's open applications (pending and waiting list). Five queries, whatever N."""
    options = options or Options(basis=event.settings.get('grants_ranking_basis', as_type=str) or rules.RAW)
    programme, used = programme_of(event, options)
    grants = {pk: Applicant(pk, name, status, {'travel': t, 'accommodation': a, 'other': o})
              for pk, name, status, t, a, o in Grant.objects.filter(event=event, status__in=OPEN).values_list(
                  'pk', 'name', 'status', 'requested_travel', 'requested_accommodation', 'requested_other')}
    all_scores = event_scores(event)
    empty = rules.Score()
    applicants = []
    for pk, g in grants.items():
        s = all_scores.get(pk, empty)
        applicants.append(rules.Applicant(id=pk, requested=g.requested_amounts, score=s.value(options.basis),
                                          se=s.se(options.basis)))
    band, undrawn = rules.band_and_lines(applicants, programme)
    draw = current_draw(event, band)
    drawn = draw.order if draw and draw.drawn else None
    # without a lot the proposal is the allocation the tie band was found on: computed once
    lines = undrawn if undrawn is not None and not drawn else rules.propose(applicants, programme, drawn)
    tie_pos = {gid: (i + 1, len(drawn)) for i, gid in enumerate(drawn)} if drawn else {}
    rows, cumulative, band_ids = [], rules.ZERO, set(band)
    for ln in lines:
        cumulative += rules.total(ln.offer) if ln.reason != rules.UNSCORED else rules.ZERO
        rows.append(Row(grant=grants[ln.id], score=all_scores.get(ln.id, empty), line=ln, event=event,
                        tie=tie_pos.get(ln.id), tied=ln.id in band_ids, cumulative=cumulative))
    return Proposal(rows=rows, programme=programme, options=options, band=band,
                    draw=draw if draw and draw.drawn else None, pending_draw=draw if draw and not draw.drawn else None,
                    used=used)


def closed_to(event, user):
    """The open applications ``user`` may not see the scores of (``GrantQuerySet.open_to``): one query."""
    grants = Grant.objects.filter(event=event, status__in=OPEN)
    if not getattr(user, 'is_authenticated', False):
        return set()
    # two cheap questions first: most team members have no conflict and no application of their own
    if not (Conflict.objects.filter(grant__event=event, user=user).exists()
            or grants.filter(email__iexact=user.email).exists()):
        return set()
    return set(grants.exclude(pk__in=grants.open_to(user).values('pk')).values_list('pk', flat=True))


# ---------------------------------------------------------------------------------------------------------------
# Draws


def commit_draw(event, band, rule, *, user=None, auth=None, reason=''):
    """
    Record the commitment to a draw among ``band`` (the tied ids, found by the tie ``rule``, which the draw keeps):
    the SHA-256 of a fresh random seed, logged on the draw and on each tied grant before anything is drawn. A line
    that already has a draw needs a ``reason``, whatever the rule: the same applicants tied are the same line.
    """
    if len(band) < 2:
        raise DrawError(_('There is no tie at the line to draw lots for.'))
    key = rules.band_key(band)
    with transaction.atomic():
        lifecycle.lock_programme(event)
        earlier = list(Draw.objects.filter(event=event, band=key, superseded=False))
        if earlier and not reason.strip():
            raise DrawError(_('Lots have already been drawn for this line. A second draw needs a reason, which is '
                              'logged.'))
        for d in earlier:
            d.superseded = True
            d.save(update_fields=['superseded'])
            d.log_action('pretix_grants.draw.superseded', data={'reason': reason[:2000]}, user=user, auth=auth)
        seed = secrets.token_hex(32)
        draw = Draw.objects.create(event=event, band=key, tied=list(band), seed=seed, rule=rule,
                                   commitment=rules.commitment(seed), reason=reason[:2000])
        data = {'draw': draw.pk, 'commitment': draw.commitment, 'tied': draw.tied, 'rule': draw.rule}
        draw.log_action('pretix_grants.draw.committed', data={**data, 'reason': draw.reason}, user=user, auth=auth)
        for g in Grant.objects.filter(event=event, pk__in=band):
            g.log_action('pretix_grants.grant.draw_committed', data=data, user=user, auth=auth)
    return draw


def make_draw(draw, *, user=None, auth=None):
    """Draw the lots committed to: the order follows from the seed, which is revealed with it."""
    with transaction.atomic():
        d = Draw.objects.select_for_update().get(pk=draw.pk)
        if d.drawn:
            raise DrawError(_('These lots have already been drawn.'))
        if d.superseded:
            raise DrawError(_('This draw has been replaced by another one.'))
        d.order = rules.draw_order(d.seed, d.tied)
        d.drawn_at = now()
        d.save(update_fields=['order', 'drawn_at'])
        d.log_action('pretix_grants.draw.drawn', data={'draw': d.pk, 'seed': d.seed, 'order': d.order},
                     user=user, auth=auth)
    draw.order, draw.drawn_at = d.order, d.drawn_at
    return d


# ---------------------------------------------------------------------------------------------------------------
# Staging


def stage(event, proposal, *, user=None, auth=None):
    """
    Stage the proposal: an offer (with its amounts) for who is funded, the waiting list in the proposal's order
    (``rank``) for who is below the line, a rejection below the minimum score; unscored applications stay undecided.
    Refuses while a tie at the line waits for its draw. Returns the counts staged per decision.
    """
    if proposal.needs_draw:
        raise DrawError(_('Applicants are tied at the line: draw lots before staging the proposal.'))
    counts = {Grant.STATUS_APPROVED: 0, Grant.STATUS_WAITING_LIST: 0, Grant.STATUS_REJECTED: 0}
    rank = 0
    grants = Grant.objects.filter(event=event).select_related('event').in_bulk([r.grant.pk for r in proposal.rows])
    with transaction.atomic():
        for row in proposal.rows:
            ln, g = row.line, grants.get(row.grant.pk)
            if g is None:
                continue
            if ln.reason == rules.UNSCORED:
                continue
            if ln.funded:
                decision = Grant.STATUS_APPROVED
            elif ln.reason == rules.BELOW_MIN:
                decision = Grant.STATUS_REJECTED
            else:
                decision = Grant.STATUS_WAITING_LIST
            changes = {'travel_amount': ln.offer['travel'], 'accommodation_amount': ln.offer['accommodation'],
                       'other_amount': ln.offer['other']}
            if decision == Grant.STATUS_WAITING_LIST:
                rank += 1
                changes['rank'] = rank
            workflow.change_fields(g, changes, user=user, auth=auth)
            if g.status == decision:  # already on the waiting list: its new rank is the decision
                workflow.stage_decision(g, None, user=user, auth=auth)
            else:
                workflow.stage_decision(g, decision, user=user, auth=auth)
            counts[decision] += 1
    return counts


# ---------------------------------------------------------------------------------------------------------------
# The second round


def frees_money(event, old_status, new_status):
    return (old_status, new_status) in FREEING and lifecycle.second_round_on(event)


def second_round(freed):
    """
    The money ``freed`` gave back goes to the waiting list by the first round's rule and order (the ranks the
    proposal staged): offered at once with 'auto', staged as decisions with 'propose'. Each move is logged on the
    freed grant with its reason. Returns the grants offered or staged.
    """
    event = freed.event
    mode = event.settings.get('grants_second_round', as_type=str)
    if mode not in ('propose', 'auto'):
        return []
    moved = []
    with transaction.atomic():
        lifecycle.lock_programme(event)
        f = Grant.objects.select_for_update().get(pk=freed.pk)
        if f.place_taken_by_id or f.status not in (Grant.STATUS_EXPIRED, Grant.STATUS_REFUSED, Grant.STATUS_CANCELLED):
            return []
        programme, used = programme_of(event, Options())
        if mode == 'propose':
            # what is already staged for the waiting list counts as given
            staged = Grant.objects.filter(event=event, status=Grant.STATUS_WAITING_LIST, decision=Grant.STATUS_APPROVED)
            for g in staged:
                programme = _less(programme, g.amounts)
        waiting = list(Grant.objects.filter(event=event, status=Grant.STATUS_WAITING_LIST).exclude(
            decision=Grant.STATUS_APPROVED).order_by(F('rank').asc(nulls_last=True), 'created', 'pk'))
        applicants = [rules.Applicant(id=g.pk, requested=g.requested_amounts) for g in waiting]
        chosen = set(rules.second_round(applicants, {g.pk: g.amounts for g in waiting}, programme))
        for g in waiting:
            if g.pk not in chosen:
                continue
            if mode == 'auto':
                g = workflow.change_status(g, Grant.STATUS_APPROVED, actor=workflow.SYSTEM,
                                           reason='second_round', extra={'place_of': f.pk})
            else:
                g = workflow.stage_decision(g, Grant.STATUS_APPROVED)
            moved.append(g)
            f.log_action('pretix_grants.grant.second_round', data={
                'grant': g.pk, 'rank': g.rank, 'mode': mode, 'amount': str(g.total_amount)})
        if moved:
            f.place_taken_by = moved[0]
            f.save(update_fields=['place_taken_by', 'modified'])
        else:
            f.log_action('pretix_grants.grant.second_round_none', data={'mode': mode})
    return moved


def _less(programme, amounts):
    t = rules.total(amounts)
    return rules.Programme(
        budget=programme.budget - t if programme.budget is not None else None,
        category_budgets={c: (v - amounts[c] if v is not None else None) for c, v in programme.category_budgets.items()},
        caps=programme.caps,
        max_offers=programme.max_offers - 1 if programme.max_offers is not None else None,
    )
