"""
The grant list's query (the filter form applied, what the list shows annotated) and the control pages' links: below
the list page (``views``) and the bulk actions (``bulk``), which both select grants by the list's filter.
"""
from django.db.models import F, Q
from django.urls import reverse

from .. import issuance, reviews
from ..models import Grant
from .forms import GrantFilterForm


def grant_url(event, name, **kwargs):
    return reverse(f'plugins:pretix_grants:control.{name}', kwargs={
        'organizer': event.organizer.slug, 'event': event.slug, **kwargs})


# the session key under which a bulk action sent back with an error keeps the chosen grants and action for the list
BULK_KEPT = 'pretix_grants_bulk_kept'

REVIEW_ORDERINGS = {'review_count', 'review_mean', 'review_stddev', 'own_score'}


def filtered_grants(event, data, user=None, blind=True):
    """
    The event's grants matching the list's filter form ``data``, with what the list shows annotated, the review
    figures as ``user`` may see them (``reviews.annotate``).
    """
    form = GrantFilterForm(data=data)
    form.is_valid()
    fd = form.cleaned_data if form.is_bound else {}
    qs = Grant.objects.filter(event=event).open_to(user).with_total().with_mail_state()
    qs = reviews.annotate(qs, user, blind)
    if fd.get('review') == 'mine_missing':
        qs = qs.filter(own_score__isnull=True)
    elif fd.get('review') == 'mine_done':
        qs = qs.filter(own_score__isnull=False)
    elif fd.get('review') == 'disputed':
        qs = qs.filter(review_stddev__gte=reviews.HIGH_DISAGREEMENT)
    if fd.get('fewer_reviews'):
        qs = qs.filter(review_count__lt=fd['fewer_reviews'])
    if fd.get('status'):
        qs = qs.filter(status=fd['status'])
    if fd.get('decision') == 'none':
        qs = qs.filter(decision__isnull=True)
    elif fd.get('decision') == 'any':
        qs = qs.filter(decision__isnull=False)
    elif fd.get('decision'):
        qs = qs.filter(decision=fd['decision'])
    v = fd.get('voucher')
    if v == 'ordered':
        qs = qs.filter(voucher__redeemed__gt=0)
    elif v == 'issued':
        qs = qs.filter(voucher_state__in=(Grant.VOUCHER_ISSUED, Grant.VOUCHER_LINKED))
    elif v == 'holds_ticket':
        qs = issuance.holding_own_ticket(event, qs)
    elif v:
        qs = qs.filter(voucher_state=v)
    m = fd.get('mail')
    if m == 'failed':
        qs = qs.filter(mail_failed=True)
    elif m == 'queued':
        qs = qs.filter(mail_pending=True)
    elif m == 'sent':
        qs = qs.filter(mail_any=True, mail_failed=False, mail_pending=False)
    if fd.get('query'):
        q = fd['query'].strip()
        qs = qs.filter(Q(name__icontains=q) | Q(email__icontains=q))
    ordering = fd.get('ordering') or 'created'
    if ordering.lstrip('-') in REVIEW_ORDERINGS:
        # grants without figures (no reviews, or hidden) last either way
        f = F(ordering.lstrip('-'))
        return form, qs.order_by(f.desc(nulls_last=True) if ordering.startswith('-') else f.asc(nulls_last=True),
                                 'created', 'pk')
    return form, qs.order_by(ordering, 'pk')
