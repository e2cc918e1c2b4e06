"""The public page of a draw in the event's shop: the commitment, then the seed and the order it gives."""
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from pretix.presale.views import EventViewMixin

from ..models import Draw
from ..permissions import plugin_active
from . import rules


class DrawPage(EventViewMixin, TemplateView):
    """Anyone may read it: the tied applicants appear only as grant ids, pseudonyms only they and the team know."""
    template_name = 'pretix_grants/decisions/draw.html'

    def get_context_data(self, **kwargs):
        if not plugin_active(self.request.event):
            raise Http404()
        draw = Draw.objects.filter(event=self.request.event, pk=self.kwargs['draw']).first()
        if draw is None:
            raise Http404(_('We do not know this draw.'))
        ctx = super().get_context_data(**kwargs)
        ctx['draw'] = draw
        ctx['tied'] = sorted(draw.tied)
        if draw.drawn:
            ctx['drawn'] = [(i + 1, gid, rules.lot(draw.seed, gid)) for i, gid in enumerate(draw.order)]
            ctx['seed_matches'] = rules.commitment(draw.seed) == draw.commitment
        ctx['later'] = Draw.objects.filter(event=self.request.event, band=draw.band, pk__gt=draw.pk).order_by('pk').first()
        return ctx
