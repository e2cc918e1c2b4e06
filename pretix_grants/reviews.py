"""
Blind review: team members with the "review" permission score applications from 1 to 5.

The one rule: someone who reviews sees other reviewers' scores, notes and the figures made from them (mean,
standard deviation) for a grant only after scoring it. Team members who do not review (e.g. those deciding from the
ranking) see all figures. The control panel and the API both ask ``annotate`` and ``visible_reviews`` here, so the
rule is enforced in one place, in the database query, not in templates.
"""
import re
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Avg, Case, Count, DecimalField, ExpressionWrapper, F, FloatField,
    IntegerField, OuterRef, Q, StdDev, Subquery, Value, When,
)
from django.db.models.functions import Coalesce

from .models import Grant, Review
from .permissions import REVIEW

SCORES = (1, 2, 3, 4, 5)
# population standard deviation of the scores from which a grant counts as disputed (e.g. 2 and 4: 1.0)
HIGH_DISAGREEMENT = 1.0


def is_reviewer(permissions_holder):
    """``permissions_holder``: a set of pretix permissions (the API's ``request.eventpermset``) or a bool."""
    if isinstance(permissions_holder, bool):
        return permissions_holder
    return REVIEW in permissions_holder


def reviewer_in_control(request):
    return request.user.has_event_permission(request.organizer, request.event, REVIEW, request=request)


def _stat(expr, output):
    return Subquery(
        Review.objects.filter(grant=OuterRef('pk')).order_by().values('grant').annotate(v=expr).values('v'),
        output_field=output,
    )


def annotate(qs, user, blind):
    """
    Per grant: ``review_count`` (always visible), ``own_score`` (the user's, or None) and ``review_mean`` /
    ``review_stddev`` (None where ``blind`` and the user has not scored the grant), plus ``requested_sum``.
    Subqueries, not joins: one query for any number of grants, and the list's other annotations stay untouched.
    """
    user_id = user.pk if user is not None and user.is_authenticated else None
    qs = qs.annotate(
        review_count=Coalesce(_stat(Count('pk'), IntegerField()), 0),
        own_score=Subquery(Review.objects.filter(grant=OuterRef('pk'), user_id=user_id).values('score')[:1],
                           output_field=IntegerField()) if user_id else Value(None, output_field=IntegerField()),
        raw_mean=_stat(Avg('score'), FloatField()),
        raw_stddev=_stat(StdDev('score', sample=False), FloatField()),
        requested_sum=ExpressionWrapper(
            F('requested_travel') + F('requested_accommodation') + F('requested_other'),
            output_field=DecimalField(max_digits=15, decimal_places=2)),
    )
    if blind:
        seen = Q(own_score__isnull=False)
        qs = qs.annotate(
            review_mean=Case(When(seen, then=F('raw_mean')), default=None, output_field=FloatField()),
            review_stddev=Case(When(seen, then=F('raw_stddev')), default=None, output_field=FloatField()),
        )
    else:
        qs = qs.annotate(review_mean=F('raw_mean'), review_stddev=F('raw_stddev'))
    return qs


MASK = '[…]'


def mask_identity(text, grant):
    """
    ``text`` (an applicant's free-text answer) with their name, each part of it of three letters or more, and their
    e-mail address (and its local part) replaced by ``[…]``, case-insensitively: reviewers judge the answer.
    """
    if not isinstance(text, str) or not text:
        return text
    words = set()
    email = (grant.email or '').strip()
    if email:
        words.add(email)
        words.add(email.split('@')[0])
    name = (grant.name or '').strip()
    if name:
        words.add(name)
        words.update(p for p in re.split(r'[\s,.-]+', name) if len(p) >= 3)
    words = sorted((w for w in words if len(w) >= 3), key=len, reverse=True)
    if not words:
        return text
    pattern = re.compile(r'(?<!\w)(' + '|'.join(re.escape(w) for w in words) + r')(?!\w)', re.IGNORECASE)
    return pattern.sub(MASK, text)


def visible_reviews(grant, user, blind):
    """The reviews of ``grant`` the user may read: all of them, or none while a blind reviewer has not scored."""
    reviews = list(grant.reviews.select_related('user').order_by('created', 'pk'))
    if blind and not any(r.user_id == getattr(user, 'pk', None) for r in reviews):
        return []
    return reviews


def score(grant, user, value, note='', *, auth=None):
    """Record (or change) ``user``'s score for ``grant``. The log says who reviewed, not the score: others read the log."""
    if value not in SCORES:
        raise ValueError('score must be 1 to 5')
    with transaction.atomic():
        review, created = Review.objects.update_or_create(
            grant=grant, user=user, defaults={'score': value, 'note': note or ''},
        )
        grant.log_action('pretix_grants.grant.reviewed', data={'review': review.pk, 'new': created},
                         user=user, auth=auth)
    return review


def next_unreviewed(event, user):
    """The application the user should review next: pending, not scored by them, fewest reviews first."""
    return annotate(Grant.objects.filter(event=event, status=Grant.STATUS_PENDING).open_to(user), user, blind=True).filter(
        own_score__isnull=True).order_by('review_count', 'created', 'pk').first()


def running_totals(ranking, available):
    """
    ``ranking``: ``(pk, requested amount)`` pairs, best first. Returns ``{pk: (running total, fits, runs_out_here)}``:
    the requested amounts added up down the ranking; ``fits`` is False from the first grant whose request no longer
    fits in ``available`` (the budget minus what is already granted) and ``runs_out_here`` marks that grant.
    Without a budget (``available`` None) everything fits.
    """
    total, result, out = Decimal('0.00'), {}, False
    for pk, amount in ranking:
        total += amount or Decimal('0.00')
        here = not out and available is not None and total > available
        out = out or here
        result[pk] = (total, not out, here)
    return result
