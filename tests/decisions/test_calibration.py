"""Calibrated reviewer scores (decisions/rules.py): a reviewer's own leniency or harshness is taken out."""
import os

from hypothesis import given, settings, strategies as st

from pretix_grants.decisions import rules

EXAMPLES = min(int(os.environ.get('GRANTS_PROPERTY_EXAMPLES', 100)), 1000)


def ranking(reviews, basis=rules.CALIBRATED):
    s = rules.scores(reviews)
    return sorted(s, key=lambda g: (-round(s[g].value(basis), 9), g))


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.data(), st.integers(2, 6), st.integers(rules.FULL_WEIGHT, 30))
def test_a_reviewer_who_scores_everyone_two_points_lower_changes_no_calibrated_ranking(data, reviewers, grants):
    # every reviewer scores at least FULL_WEIGHT applications; the harsh one scores 3 to 5 (so 1 to 3 minus two)
    reviews = []
    for r in range(1, reviewers + 1):
        scored = data.draw(st.sets(st.integers(1, grants), min_size=rules.FULL_WEIGHT))
        for g in sorted(scored):
            reviews.append((g, r, data.draw(st.integers(3, 5) if r == 1 else st.integers(1, 5))))
    harsher = [(g, r, s - 2 if r == 1 else s) for g, r, s in reviews]
    assert ranking(harsher) == ranking(reviews)


def test_calibration_corrects_a_harsh_reviewer_where_the_raw_mean_does_not():
    # two applications of equal merit: A reviewed by the harsh reviewer 1, B by the lenient reviewer 2
    reviews = []
    for g in range(10, 16):  # common ground: both reviewers score the same six applications alike, 2 points apart
        reviews += [(g, 1, 1 + g % 3), (g, 2, 3 + g % 3)]
    reviews += [(1, 1, 2), (2, 2, 4)]
    s = rules.scores(reviews)
    assert s[2].raw > s[1].raw
    assert abs(s[1].calibrated - s[2].calibrated) < 1e-9


def test_a_reviewer_with_few_reviews_is_shrunk_towards_everyone():
    reviews = [(g, 1, 1 + g % 5) for g in range(1, 11)] + [(g, 2, 1 + g % 5) for g in range(1, 11)]
    reviews.append((20, 3, 5))  # one review only: its reviewer's habits are mostly everyone's
    s = rules.scores(reviews)
    assert s[20].calibrated > 4  # not forced to the middle as full standardisation of one review would
    assert s[20].raw == 5
    # and the figures the list shows
    assert s[20].n == 1 and s[20].sd == 0
    assert s[1].se_raw == 0  # the two reviewers agree exactly: nothing uncertain about the others
