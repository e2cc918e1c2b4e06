"""
The rules of a decision day, as pure functions over plain data (no database): easy to test and to benchmark.

Ranking. An application's ranking score is the mean of its reviews (``raw``) or of its calibrated reviews
(``calibrated``); ranked best first, ties by application id. Unscored applications come last and are never funded.

Calibration. Each reviewer's scores are standardised with the reviewer's own mean and standard deviation, then put
back on the scale of all reviews (their global mean and deviation). For a reviewer with fewer than ``FULL_WEIGHT``
reviews, the reviewer's mean and deviation are shrunk towards the global ones (weight n / FULL_WEIGHT): a single
review says little about a reviewer's habits. So a reviewer (with ``FULL_WEIGHT`` reviews or more) who scores
everyone two points lower changes nobody's calibrated ranking when every reviewer has as many.

The tie band. The *line* is the first applicant, down the ranking, whose offer no longer fits; the band is every
applicant whose score cannot be told apart from that of the last applicant funded before the line, by the
programme's tie rule:

- ``overlap`` (the default): their ranges score ± standard error overlap. The standard error of an application's
  score is the pooled within-application standard deviation of the review values divided by the square root of its
  number of reviews. It takes the reviewers' disagreement into account, and with few or noisy reviews ties many.
- ``equal``: their scores are equal as the ranking shows them, to two decimals (rounded half up, as Django's
  ``floatformat`` shows them). It ties only those the ranking cannot order.

If the band reaches the line, its members are ordered by lot and take the band's places in the ranking in that
order; nobody outside the band moves.

The lot. ``commitment = sha256(seed)``; the order sorts the tied grant ids by ``HMAC-SHA256(seed, str(id))``.

Strategies. ``rank``: down the (drawn) ranking, offering each applicant their offer if it fits the rest of the
budget, the category budgets and the maximum number of offers; who no longer fits is skipped (the waiting list keeps
the order). ``most``: as many grantees as possible above a minimum score: smallest offers first, in ranking order
among equal offers. The offer is the requested amount per category, times a part (e.g. 0.8), capped per category.
"""
import hashlib
import hmac
import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CATEGORIES = ('travel', 'accommodation', 'other')
ZERO = Decimal('0.00')
CENT = Decimal('0.01')
FULL_WEIGHT = 5
RAW = 'raw'
CALIBRATED = 'calibrated'
BY_RANK = 'rank'
MOST_PEOPLE = 'most'
OVERLAP = 'overlap'
EQUAL = 'equal'

# reasons, as codes with their figures; the control panel and the API put them into words
FUNDED = 'funded'
CAPPED = 'capped'
TIE = 'tie'
BELOW_LINE = 'below_line'
CATEGORY_FULL = 'category_full'
MAX_OFFERS = 'max_offers'
BELOW_MIN = 'below_min'
UNSCORED = 'unscored'


# ---------------------------------------------------------------------------------------------------------------
# Scores


@dataclass
class Score:
    n: int = 0
    raw: float = None
    calibrated: float = None
    sd: float = None  # population standard deviation of the raw scores: the reviewers' disagreement
    se_raw: float = 0.0
    se_calibrated: float = 0.0

    def value(self, basis):
        return self.calibrated if basis == CALIBRATED else self.raw

    def se(self, basis):
        return self.se_calibrated if basis == CALIBRATED else self.se_raw


def _mean_sd(values):
    n = len(values)
    m = math.fsum(values) / n
    return m, math.sqrt(math.fsum([(v - m) * (v - m) for v in values]) / n)


def _pooled_sd(groups):
    """The within-group standard deviation pooled over the groups with two values or more (0 without any)."""
    ss, df = 0.0, 0
    for values in groups:
        if len(values) > 1:
            m = sum(values) / len(values)
            ss += sum((v - m) ** 2 for v in values)
            df += len(values) - 1
    return math.sqrt(ss / df) if df else 0.0


def calibrated_values(reviews, full_weight=FULL_WEIGHT):
    """``reviews``: ``(grant id, reviewer id, score)``. Returns the calibrated value of each review, in order."""
    reviews = list(reviews)
    if not reviews:
        return []
    g_mean, g_sd = _mean_sd([s for _g, _r, s in reviews])
    by_reviewer = {}
    for _g, r, s in reviews:
        by_reviewer.setdefault(r, []).append(s)
    habits = {}
    for r, scores in by_reviewer.items():
        m, sd = _mean_sd(scores)
        w = min(1.0, len(scores) / full_weight)
        habits[r] = (w * m + (1 - w) * g_mean, w * sd + (1 - w) * g_sd)
    out = []
    for _g, r, s in reviews:
        m, sd = habits[r]
        z = (s - m) / sd if sd > 1e-9 else 0.0
        out.append(g_mean + g_sd * z)
    return out


def scores(reviews, full_weight=FULL_WEIGHT):
    """``reviews``: ``(grant id, reviewer id, score)`` triples. Returns ``{grant id: Score}``."""
    reviews = list(reviews)
    cal = calibrated_values(reviews, full_weight)
    raw_by, cal_by = {}, {}
    for (g, _r, s), c in zip(reviews, cal):
        raw_by.setdefault(g, []).append(float(s))
        cal_by.setdefault(g, []).append(c)
    pooled_raw, pooled_cal = _pooled_sd(raw_by.values()), _pooled_sd(cal_by.values())
    result = {}
    for g, raw in raw_by.items():
        n = len(raw)
        m, sd = _mean_sd(raw)
        result[g] = Score(n=n, raw=m, calibrated=sum(cal_by[g]) / n, sd=sd,
                          se_raw=pooled_raw / math.sqrt(n), se_calibrated=pooled_cal / math.sqrt(n))
    return result


# ---------------------------------------------------------------------------------------------------------------
# Offers and the programme


@dataclass(frozen=True)
class Applicant:
    id: int
    requested: dict  # {category: Decimal}
    score: float = None
    se: float = 0.0


@dataclass
class Programme:
    """What may be given: each None is unlimited. ``budget`` and ``category_budgets`` are what is still available."""
    budget: Decimal = None
    category_budgets: dict = field(default_factory=dict)
    caps: dict = field(default_factory=dict)
    max_offers: int = None
    part: Decimal = Decimal('1')
    min_score: float = None
    strategy: str = BY_RANK
    tie_rule: str = OVERLAP


def offer_for(requested, programme):
    """The offer per category: the requested amount times the part (to the cent, down), at most the category's cap."""
    return _offer_maker(programme)(requested)


def _offer_maker(programme):
    """``offer_for`` with the programme's part and caps read once, for the 10,000 applicants of a proposal."""
    part = programme.part
    caps = [(c, programme.caps.get(c)) for c in CATEGORIES]

    def offer(requested):
        made, capped = {}, []
        for c, cap in caps:
            amount = requested.get(c) or ZERO
            if part != 1:
                amount = (amount * part).quantize(CENT, rounding=ROUND_DOWN)
            if cap is not None and amount > cap:
                amount = cap
                capped.append(c)
            made[c] = amount
        return made, capped
    return offer


def total(amounts):
    return (amounts.get('travel') or ZERO) + (amounts.get('accommodation') or ZERO) + (amounts.get('other') or ZERO)


def ranked(applicants):
    """Best first; unscored last; ties by id."""
    return sorted(applicants, key=lambda a: (a.score is None, -(a.score or 0.0), a.id))


@dataclass
class Line:
    """One applicant's proposal: ``funded`` with ``amounts``, else not; ``reason`` and its ``figures``."""
    id: int
    position: int
    funded: bool
    amounts: dict
    offer: dict
    reason: str
    figures: dict = field(default_factory=dict)


def allocate(order, programme, offers=None):
    """
    ``order``: applicants in the order they are considered (the drawn ranking). ``offers``: ``{id: amounts}`` to use
    instead of ``offer_for`` (the second round offers what was staged). Returns a ``Line`` per applicant, in order.
    """
    p = programme
    left = p.budget
    cat_left = {c: p.category_budgets.get(c) for c in CATEGORIES}
    offers_left = p.max_offers
    lines = []
    consider = list(order)
    offer_for_one = _offer_maker(p)
    made = {a.id: ((offers[a.id], []) if offers is not None else offer_for_one(a.requested)) for a in consider}
    totals = {i: total(o) for i, (o, _c) in made.items()}
    if p.strategy == MOST_PEOPLE:
        position = {a.id: i for i, a in enumerate(consider)}
        consider.sort(key=lambda a: (totals[a.id], position[a.id]))
    for i, a in enumerate(consider):
        offer, capped = made[a.id]
        t = totals[a.id]
        none = {c: ZERO for c in CATEGORIES}
        if a.score is None and offers is None:
            lines.append(Line(a.id, i, False, none, offer, UNSCORED))
            continue
        if p.min_score is not None and offers is None and a.score < p.min_score:
            lines.append(Line(a.id, i, False, none, offer, BELOW_MIN, {'score': a.score}))
            continue
        if offers_left is not None and offers_left <= 0:
            lines.append(Line(a.id, i, False, none, offer, MAX_OFFERS))
            continue
        if left is not None and t > left:
            lines.append(Line(a.id, i, False, none, offer, BELOW_LINE, {'short': t - left}))
            continue
        full = [c for c in CATEGORIES if cat_left[c] is not None and offer[c] > cat_left[c]]
        if full:
            lines.append(Line(a.id, i, False, none, offer, CATEGORY_FULL,
                              {'category': full[0], 'short': offer[full[0]] - cat_left[full[0]]}))
            continue
        if left is not None:
            left -= t
        for c in CATEGORIES:
            if cat_left[c] is not None:
                cat_left[c] -= offer[c]
        if offers_left is not None:
            offers_left -= 1
        if capped:
            c = capped[0]
            lines.append(Line(a.id, i, True, offer, offer, CAPPED,
                              {'category': c, 'offered': offer[c], 'requested': a.requested.get(c) or ZERO}))
        else:
            lines.append(Line(a.id, i, True, offer, offer, FUNDED))
    return lines


# ---------------------------------------------------------------------------------------------------------------
# The tie band and the lot


def tie_band(applicants, programme):
    """
    The ids tied at the funding line (see the module's docstring), in ranking order; empty when no lot is needed
    (nobody is left out, or nobody across the line is tied with the last funded applicant by the programme's tie
    rule).
    """
    return band_and_lines(applicants, programme)[0]


def band_and_lines(applicants, programme):
    """``tie_band``, and the undrawn proposal's lines it computed on the way (None where it computed none)."""
    order = ranked(applicants)
    if programme.strategy != BY_RANK:
        return [], None
    lines = allocate(order, programme)
    return _band(order, lines, programme), lines


def _band(order, lines, programme):
    stops = (BELOW_LINE, CATEGORY_FULL, MAX_OFFERS)
    line_at = next((ln.position for ln in lines if not ln.funded and ln.reason in stops), None)
    if line_at is None:
        return []
    funded_before = [ln.position for ln in lines[:line_at] if ln.funded]
    if not funded_before:
        return []
    anchor = order[funded_before[-1]]
    eligible = [a for a in order if a.score is not None
                and (programme.min_score is None or a.score >= programme.min_score)]
    if programme.tie_rule == EQUAL:
        shown = shown_score(anchor.score)
        band = [a.id for a in eligible if shown_score(a.score) == shown]
    else:
        lo, hi = anchor.score - anchor.se, anchor.score + anchor.se
        band = [a.id for a in eligible if a.score + a.se >= lo and a.score - a.se <= hi]
    positions = {a.id: i for i, a in enumerate(order)}
    if len(band) < 2 or not any(positions[i] >= line_at for i in band):
        return []
    return band


def shown_score(score):
    """A score as the ranking shows it: to two decimals, rounded half up."""
    return Decimal(repr(score)).quantize(CENT, rounding=ROUND_HALF_UP)


def band_key(tied):
    """Names a line by the ids tied at it."""
    return hashlib.sha256(','.join(str(i) for i in sorted(tied)).encode()).hexdigest()


def commitment(seed):
    return hashlib.sha256(seed.encode()).hexdigest()


def lot(seed, grant_id):
    return hmac.new(seed.encode(), str(grant_id).encode(), hashlib.sha256).hexdigest()


def draw_order(seed, tied):
    """The tied grant ids in the order the lot gives them."""
    return sorted(tied, key=lambda i: lot(seed, i))


def apply_draw(order, drawn):
    """``order``: applicants ranked; ``drawn``: tied ids in drawn order. The tied take their places in that order."""
    tied = set(drawn)
    by_id = {a.id: a for a in order}
    queue = iter(drawn)
    return [by_id[next(queue)] if a.id in tied else a for a in order]


def propose(applicants, programme, drawn=None):
    """The whole proposal: the ranking, the drawn order applied to its band, and a ``Line`` per applicant."""
    order = ranked(applicants)
    if drawn:
        ids = {a.id for a in order}
        order = apply_draw(order, [i for i in drawn if i in ids])
    return allocate(order, programme)


def second_round(waiting, offers, programme):
    """
    Freed money for the waiting list: ``waiting`` in its (drawn) order with the ``offers`` staged for them; the same
    rule as the first round (by rank, skipping who no longer fits). Returns the ids to offer, in order.
    """
    p = Programme(budget=programme.budget, category_budgets=programme.category_budgets,
                  max_offers=programme.max_offers, strategy=BY_RANK)
    return [ln.id for ln in allocate(waiting, p, offers=offers) if ln.funded]
