"""
Properties of the allocation rules over random programmes (decisions/rules.py): random reviewers scoring random
applications, random budgets, category budgets, caps and strategies.

GRANTS_PROPERTY_EXAMPLES sets the number of examples (100 here by default; CI's PostgreSQL pass runs more).
"""
import os
import secrets
from decimal import Decimal

from django.template.defaultfilters import floatformat
from hypothesis import given, settings, strategies as st

from pretix_grants.decisions import rules

EXAMPLES = min(int(os.environ.get('GRANTS_PROPERTY_EXAMPLES', 100)), 1000)
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None)

money = st.integers(0, 200000).map(lambda c: Decimal(c).scaleb(-2))
maybe_money = st.one_of(st.none(), money)


@st.composite
def programmes(draw, strategy=None):
    n = draw(st.integers(1, 80))
    reviewers = draw(st.integers(1, 8))
    reviews = []
    for g in range(1, n + 1):
        for r in draw(st.sets(st.integers(1, reviewers), max_size=5)):
            reviews.append((g, r, draw(st.integers(1, 5))))
    s = rules.scores(reviews)
    basis = draw(st.sampled_from([rules.RAW, rules.CALIBRATED]))
    applicants = [rules.Applicant(
        id=g, requested={c: draw(money) for c in rules.CATEGORIES},
        score=s[g].value(basis) if g in s else None, se=s[g].se(basis) if g in s else 0.0,
    ) for g in range(1, n + 1)]
    programme = rules.Programme(
        budget=draw(maybe_money) if draw(st.booleans()) else draw(money),
        category_budgets={c: draw(maybe_money) for c in rules.CATEGORIES},
        caps={c: draw(maybe_money) for c in rules.CATEGORIES},
        max_offers=draw(st.one_of(st.none(), st.integers(0, n))),
        part=draw(st.sampled_from([Decimal('1'), Decimal('0.5'), Decimal('0.8'), Decimal('0.33')])),
        min_score=draw(st.one_of(st.none(), st.floats(1, 5))),
        strategy=strategy or draw(st.sampled_from([rules.BY_RANK, rules.MOST_PEOPLE])),
        tie_rule=draw(st.sampled_from([rules.OVERLAP, rules.EQUAL])),
    )
    return applicants, programme


def _held(lines, programme):
    funded = [ln for ln in lines if ln.funded]
    if programme.budget is not None:
        assert sum((rules.total(ln.amounts) for ln in funded), rules.ZERO) <= programme.budget
    for c in rules.CATEGORIES:
        if programme.category_budgets.get(c) is not None:
            assert sum((ln.amounts[c] for ln in funded), rules.ZERO) <= programme.category_budgets[c]
        if programme.caps.get(c) is not None:
            assert all(ln.amounts[c] <= programme.caps[c] for ln in funded)
    if programme.max_offers is not None:
        assert len(funded) <= programme.max_offers
    for ln in funded:
        assert all(isinstance(v, Decimal) and v == v.quantize(rules.CENT) and v >= 0 for v in ln.amounts.values())


@PROPERTY
@given(programmes(), st.booleans())
def test_the_budget_and_every_cap_hold(p, with_draw):
    applicants, programme = p
    band = rules.tie_band(applicants, programme)
    drawn = rules.draw_order(secrets.token_hex(32), band) if with_draw and band else None
    _held(rules.propose(applicants, programme, drawn), programme)


@PROPERTY
@given(programmes(strategy=rules.BY_RANK))
def test_outside_the_band_nobody_below_the_line_outranks_a_funded_applicant(p):
    """
    By rank, outside the tied band: who is not funded has a score at most that of every applicant funded before them
    in the ranking, unless they were skipped because their offer did not fit what was left (then everyone funded
    after them asked for less than they did, in total or in the category that was full).
    """
    applicants, programme = p
    band = set(rules.tie_band(applicants, programme))
    seed = secrets.token_hex(32)
    lines = rules.propose(applicants, programme, rules.draw_order(seed, band) if band else None)
    by_id = {a.id: a for a in applicants}
    for i, u in enumerate(lines):
        if u.funded or u.id in band or u.reason not in (rules.BELOW_LINE, rules.CATEGORY_FULL, rules.MAX_OFFERS):
            continue
        for f in lines[i + 1:]:
            if not f.funded or f.id in band:
                continue
            assert by_id[f.id].score <= by_id[u.id].score
            if u.reason == rules.BELOW_LINE:
                assert rules.total(f.amounts) < rules.total(u.offer)
            elif u.reason == rules.CATEGORY_FULL:
                c = u.figures['category']
                assert f.amounts[c] < u.offer[c]
            else:
                raise AssertionError('funded after the maximum number of offers was reached')
    # and the order of consideration is the ranking outside the band
    ranking = [a.id for a in rules.ranked(applicants)]
    assert [ln.id for ln in lines if ln.id not in band] == [i for i in ranking if i not in band]


@PROPERTY
@given(programmes(strategy=rules.BY_RANK))
def test_the_tie_rule_decides_who_is_tied(p):
    """
    Equal scores: the tied are exactly those whose shown score is the last funded applicant's before the line.
    Overlap: every tied range meets that applicant's. Either way the band reaches across the line.
    """
    applicants, programme = p
    band = rules.tie_band(applicants, programme)
    if not band:
        return
    order = rules.ranked(applicants)
    lines = rules.propose(applicants, programme)
    line_at = next(ln.position for ln in lines if not ln.funded
                   and ln.reason in (rules.BELOW_LINE, rules.CATEGORY_FULL, rules.MAX_OFFERS))
    anchor = order[[ln.position for ln in lines[:line_at] if ln.funded][-1]]
    by_id = {a.id: a for a in applicants}
    position = {a.id: i for i, a in enumerate(order)}
    assert anchor.id in band and any(position[i] >= line_at for i in band)
    eligible = [a for a in order if a.score is not None
                and (programme.min_score is None or a.score >= programme.min_score)]
    if programme.tie_rule == rules.EQUAL:
        # as the Decide page shows the scores (floatformat:2): the tied show the anchor's, nobody else eligible does
        shown = floatformat(anchor.score, 2)
        assert {floatformat(by_id[i].score, 2) for i in band} == {shown}
        assert all(floatformat(a.score, 2) != shown for a in eligible if a.id not in band)
    else:
        for i in band:
            a = by_id[i]
            assert a.score + a.se >= anchor.score - anchor.se and a.score - a.se <= anchor.score + anchor.se


@PROPERTY
@given(programmes(strategy=rules.BY_RANK), st.text(min_size=1, max_size=64), st.text(min_size=1, max_size=64))
def test_the_lot_only_reorders_the_tied_and_the_seed_decides(p, seed, other_seed):
    applicants, programme = p
    band = rules.tie_band(applicants, programme)
    ranking = [a.id for a in rules.ranked(applicants)]
    first = rules.propose(applicants, programme, rules.draw_order(seed, band))
    again = rules.propose(applicants, programme, rules.draw_order(seed, band))
    other = rules.propose(applicants, programme, rules.draw_order(other_seed, band))
    assert [(ln.id, ln.funded, ln.amounts) for ln in first] == [(ln.id, ln.funded, ln.amounts) for ln in again]
    for lines in (first, other):
        order = [ln.id for ln in lines]
        assert sorted(order) == sorted(ranking)
        # everyone outside the band keeps their place in the ranking
        assert [(i, x) for i, x in enumerate(order) if x not in band] == \
            [(i, x) for i, x in enumerate(ranking) if x not in band]
    assert rules.commitment(seed) == rules.commitment(seed) and len(rules.commitment(seed)) == 64
    if seed != other_seed:
        assert rules.commitment(seed) != rules.commitment(other_seed)


@PROPERTY
@given(st.lists(st.integers(1, 10 ** 9), unique=True, max_size=50), st.text(min_size=1))
def test_the_drawn_order_is_the_documented_function(ids, seed):
    import hashlib  # NOQA: the documented recomputation, as an auditor would type it
    import hmac
    expected = sorted(ids, key=lambda i: hmac.new(seed.encode(), str(i).encode(), hashlib.sha256).hexdigest())
    assert rules.draw_order(seed, ids) == expected
    assert rules.commitment(seed) == hashlib.sha256(seed.encode()).hexdigest()


@PROPERTY
@given(programmes(strategy=rules.BY_RANK), money, st.integers(0, 30))
def test_a_second_round_never_exceeds_the_freed_amount_and_follows_the_order(p, freed, skip):
    applicants, programme = p
    lines = rules.propose(applicants, programme)
    waiting = [a for a in rules.ranked(applicants) if a.id in {ln.id for ln in lines if not ln.funded}][skip:]
    offers = {ln.id: ln.offer for ln in lines}
    second = rules.Programme(budget=freed)
    chosen = rules.second_round(waiting, offers, second)
    assert sum((rules.total(offers[i]) for i in chosen), rules.ZERO) <= freed
    order = [a.id for a in waiting]
    assert chosen == [i for i in order if i in set(chosen)]
    # who was passed over did not fit what was left when their turn came
    left = freed
    for a in waiting:
        t = rules.total(offers[a.id])
        if a.id in chosen:
            left -= t
        else:
            assert t > left


@PROPERTY
@given(programmes())
def test_the_allocation_the_tie_band_was_found_on_is_the_undrawn_proposal(p):
    # programme.propose shows it instead of allocating a second time (10,000 applicants on the Decide page)
    applicants, programme = p
    band, lines = rules.band_and_lines(applicants, programme)
    assert band == rules.tie_band(applicants, programme)
    if programme.strategy == rules.BY_RANK:
        assert lines == rules.propose(applicants, programme)
    else:
        assert lines is None
