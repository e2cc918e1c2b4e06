"""The grantee's side: what the reply page says about their own ticket and held place, and their choice."""
from django.contrib import messages
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views import View
from pretix.multidomain.urlreverse import eventreverse

from .. import workflow
from ..base.grantpage import GrantPageMixin
from ..models import Grant, OwnTicket, TicketHold
from . import rules


def choice_url(event, grant):
    return eventreverse(event, 'plugins:pretix_grants:tickets.choice', kwargs={'secret': grant.secret})


def reply_panel(event, grant, request):
    """The reply page's panel: the held place, the person's own ticket and, where they are asked, their choice."""
    ot = OwnTicket.objects.filter(grant=grant).select_related('order', 'refund').first()
    hold = TicketHold.objects.filter(grant=grant).first()
    asking = rules.handling(event) == rules.ASK and grant.ticket and (
        (ot is None and grant.status == Grant.STATUS_APPROVED) or (ot is not None and ot.state == OwnTicket.STATE_ASKED))
    positions = rules.own_positions(grant) if (asking and ot is None) else []
    if asking and ot is None and not positions:
        asking = False
    show_hold = hold is not None and grant.status not in rules.ENDED and grant.status != Grant.STATUS_CONFIRMED
    if not (ot or asking or show_hold):
        return ''
    return render_to_string('pretix_grants/tickets/reply_panel.html', {
        'grant': grant, 'own': ot, 'hold': hold if show_hold else None, 'asking': asking,
        'order': ot.order if ot else (positions[0].order if positions else None),
        'choice_url': choice_url(event, grant), 'event': event,
        'can_choose': asking and (grant.status == Grant.STATUS_CONFIRMED or workflow.allowed(
            grant, Grant.STATUS_CONFIRMED, workflow.GRANTEE)),
    }, request=request)


class ChoiceView(GrantPageMixin, View):
    """POST ``choice=refund|keep``: the grantee's choice (and, on an open offer, their confirmation)."""

    def post(self, request, *args, **kwargs):
        try:
            rules.choose(self.grant, request.POST.get('choice'))
        except (rules.NotAllowed, workflow.GrantTransitionError) as e:
            messages.error(request, _('Your answer was not saved. {reason}').format(reason=e))
            return redirect(self.url)
        messages.success(request, _('Thank you: your grant is confirmed and your choice is saved.'))
        return redirect(self.url)
