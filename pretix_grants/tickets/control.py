"""The organizer's side: the grant page's panel (the person's orders, the handling, the refund) and the retry."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View

from ..base.pages import PluginPageMixin
from ..models import Grant, OwnTicket, TicketHold
from ..permissions import MANAGE
from . import rules


def grant_panel(event, grant, request):
    ot = OwnTicket.objects.filter(grant=grant).select_related('order', 'refund').first()
    positions = rules.own_positions(grant)
    hold = TicketHold.objects.filter(grant=grant).select_related('voucher').first()
    return render_to_string('pretix_grants/tickets/control_panel.html', {
        'grant': grant, 'own': ot, 'positions': positions, 'hold': hold, 'event': event,
        'handling': rules.handling(event),
        'handling_label': dict(OwnTicket.HANDLING_CHOICES).get(rules.handling(event), _('issue a grant voucher anyway')),
        'can_manage': request.user.has_event_permission(request.organizer, event, MANAGE, request=request),
        'retry_url': reverse('plugins:pretix_grants:tickets.retry', kwargs={
            'organizer': event.organizer.slug, 'event': event.slug, 'grant': grant.pk}),
    }, request=request)


class RetryRefund(PluginPageMixin, View):
    """POST: try a failed refund of the grantee's own ticket again."""
    permission = MANAGE

    def post(self, request, *args, **kwargs):
        grant = Grant.objects.filter(event=request.event, pk=kwargs['grant']).first()
        ot = OwnTicket.objects.filter(grant=grant).first() if grant else None
        if ot is None:
            raise Http404(_('Unknown grant.'))
        try:
            ot = rules.retry(ot, user=request.user)
        except rules.NotAllowed as e:
            messages.error(request, str(e))
        else:
            if ot is not None and ot.state == OwnTicket.STATE_FAILED:
                messages.error(request, _('The refund failed again: {error}').format(error=ot.error))
            else:
                messages.success(request, _('The refund has been made.'))
        return redirect(reverse('plugins:pretix_grants:control.detail', kwargs={
            'organizer': request.event.organizer.slug, 'event': request.event.slug, 'grant': grant.pk}))
