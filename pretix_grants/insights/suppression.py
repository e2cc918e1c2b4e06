"""
Small-number suppression (doc/insights.md has the rule in words).

A *table* is a list of counts that add up to a total which is published elsewhere anyway (the number of
applications). A count of 1 to k-1 is shown as "fewer than k" (``SMALL``): a reader learns it lies in [1, k-1].
Where the total and the other cells would pin such a count down, further cells are withheld (``HIDDEN``, "not
shown"): a reader learns only that such a cell is 0 or at least k, since counts of 1 to k-1 say so. Cells are
withheld smallest first until every small count has at least two values a reader cannot tell apart; if withholding
every cell is not enough, the whole table is withheld (``WITHHELD``).
"""
SHOWN = ''
SMALL = 'small'
HIDDEN = 'hidden'
WITHHELD = 'withheld'


def _reachable(x, small, hidden, k):
    """Whether ``small`` cells in [1, k-1] and ``hidden`` cells in {0} ∪ [k, ∞) can add up to ``x``."""
    if x < 0:
        return False
    if small <= x <= small * (k - 1):
        return True
    return hidden > 0 and x >= small + k


def candidates(remainder, small, hidden, k):
    """The values one small cell can take when the withheld cells (``small`` + ``hidden``) add up to ``remainder``."""
    return [v for v in range(1, k) if _reachable(remainder - v, small - 1, hidden, k)]


def safe(values, states, k):
    """Whether no small cell of this table can be told from its neighbours and the total."""
    if SMALL not in states:
        return True
    remainder = sum(v for v, s in zip(values, states) if s != SHOWN)
    return len(candidates(remainder, states.count(SMALL), states.count(HIDDEN), k)) >= 2


def protect(values, k):
    """
    The state of each cell of a table of counts (``values``), and of its total: ``SHOWN``, ``SMALL``, ``HIDDEN``
    or ``WITHHELD``.
    """
    values = [int(v) for v in values]
    total = sum(values)
    if k <= 1 or total == 0:
        return [SHOWN] * len(values), SHOWN
    states = [SMALL if 0 < v < k else SHOWN for v in values]
    if total < k:
        # the total itself is small (and so, everywhere, shown as "fewer than k"): no equation gives a cell away
        return states, SMALL
    while not safe(values, states, k):
        shown = [i for i, s in enumerate(states) if s == SHOWN]
        if not shown:
            return [WITHHELD] * len(values), SHOWN
        states[min(shown, key=lambda i: (values[i], i))] = HIDDEN
    return states, SHOWN


def protect_count(value, k):
    """A single count published on its own."""
    return SMALL if 0 < value < k else SHOWN


def protect_chain(values, k, states=None):
    """
    Counts of a funnel (each step a subset of the one before): a step below k is small, and a step is withheld
    where the difference to the last published step before it (the people who left in between) would be 1 to k-1.
    """
    states = list(states or [SHOWN] * len(values))
    last = None
    for i, v in enumerate(values):
        if states[i] == SHOWN and 0 < v < k:
            states[i] = SMALL
        if states[i] != SHOWN:
            continue
        if last is not None and 0 < values[last] - v < k:
            states[i] = HIDDEN
            continue
        last = i
    return states


def protect_sums(counts, k):
    """
    Money: each amount is a sum over ``counts[i]`` grants; a sum over 1 to k-1 grants is small. The amounts add up
    to a total, so a lone small amount takes the smallest other non-empty amount with it, or else the total.
    Returns (states, total state).
    """
    states = [SMALL if 0 < n < k else SHOWN for n in counts]
    if 0 < sum(counts) < k:
        return states, SMALL
    if states.count(SMALL) == 1:
        others = [i for i, s in enumerate(states) if s == SHOWN and counts[i]]
        if others:
            states[min(others, key=lambda i: (counts[i], i))] = HIDDEN
        else:
            return states, HIDDEN
    return states, SHOWN
