"""
Small-number suppression over random programmes (Hypothesis): a country with 1 to k-1 grantees never appears with
its number, and nothing published (the other countries, the total, "fewer than k", "not shown") pins it down.

The check below is independent of the rule's own shortcut: it enumerates, by subset sums, every value a reader
could assign to each suppressed cell given what each label says, and asks for at least two possible values.
GRANTS_PROPERTY_EXAMPLES sets the number of examples (200 by default; CI's PostgreSQL pass runs more).
"""
import os

from hypothesis import given, settings, strategies as st

from pretix_grants.insights import suppression as sup

EXAMPLES = int(os.environ.get('GRANTS_PROPERTY_EXAMPLES', 200))

programmes = st.tuples(
    st.integers(min_value=2, max_value=7),  # the threshold k
    # grantees per country (a zero is a country or "no answer" row with nobody in it)
    st.lists(st.one_of(st.integers(0, 6), st.integers(0, 40)), min_size=1, max_size=12),
)


def domain(state, k, total):
    """The values a reader can give a cell from its label."""
    if state == sup.SMALL:
        return range(1, k)
    if state == sup.HIDDEN:
        return [0, *range(k, total + 1)]
    return range(0, total + 1)  # withheld: anything


def sums(domains, limit):
    """Every sum the cells with these domains can reach, up to ``limit`` (a bit set)."""
    reach = 1
    mask = (1 << (limit + 1)) - 1
    for d in domains:
        new = 0
        for v in d:
            new |= reach << v
        reach = new & mask
    return reach


def possible_values(values, states, k, i):
    """The values cell ``i`` can take, given the published cells and the total (which the funnel publishes)."""
    total = sum(values)
    remainder = total - sum(v for v, s in zip(values, states) if s == sup.SHOWN)
    others = [domain(s, k, total) for j, s in enumerate(states) if j != i and s != sup.SHOWN]
    reach = sums(others, remainder)
    return [v for v in domain(states[i], k, total) if 0 <= remainder - v and reach >> (remainder - v) & 1]


@settings(max_examples=EXAMPLES, deadline=None)
@given(programmes)
def test_no_small_country_is_shown_or_can_be_worked_out(programme):
    k, values = programme
    states, total_state = sup.protect(values, k)
    total = sum(values)
    for v, s in zip(values, states):
        if 0 < v < k:
            assert s != sup.SHOWN, (values, states)
        if s == sup.SMALL:
            assert 0 < v < k
        if s == sup.HIDDEN:
            assert v == 0 or v >= k, 'a "not shown" cell must not look like a small one'
    if 0 < total < k:
        assert total_state == sup.SMALL
        return
    assert total_state == sup.SHOWN, 'the total is the number of applications, published anyway'
    for i, (v, s) in enumerate(zip(values, states)):
        if 0 < v < k:
            candidates = possible_values(values, states, k, i)
            assert v in candidates
            assert len(candidates) >= 2, (values, states, i, candidates)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(min_value=2, max_value=7),
       st.lists(st.integers(0, 6), min_size=1, max_size=8).map(lambda drops: drops))
def test_no_small_group_leaves_between_two_published_funnel_steps(k, drops):
    start = sum(drops) + 20
    steps = [start]
    for d in drops:
        steps.append(steps[-1] - d)
    states = sup.protect_chain(steps, k)
    published = [v for v, s in zip(steps, states) if s == sup.SHOWN]
    for v, s in zip(steps, states):
        if 0 < v < k:
            assert s != sup.SHOWN
    for a, b in zip(published, published[1:]):
        assert not 0 < a - b < k, (steps, states)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(min_value=2, max_value=7), st.lists(st.integers(0, 12), min_size=3, max_size=3))
def test_a_sum_of_money_over_few_grants_is_not_shown_nor_left_to_subtract(k, counts):
    states, total_state = sup.protect_sums(counts, k)
    for n, s in zip(counts, states):
        if 0 < n < k:
            assert s != sup.SHOWN
    hidden = [n for n, s in zip(counts, states) if s != sup.SHOWN]
    if total_state == sup.SHOWN and any(0 < n < k for n in counts):
        # the total minus the shown amounts is the sum of at least two hidden, non-empty amounts
        assert len([n for n in hidden if n]) >= 2, (counts, states)
