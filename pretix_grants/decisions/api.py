"""
``/api/v1/organizers/{organizer}/events/{event}/grant_decisions/``: compute a proposal (a dry run), stage it, and
read the draws at the funding line (their commitment, and once drawn the seed and the order).
"""
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ..base.api import PluginResourceMixin
from ..models import Draw
from ..permissions import MANAGE
from . import programme, rules
from .forms import options_from


def draw_data(draw):
    return {
        'id': draw.pk, 'created': draw.created, 'rule': draw.rule, 'commitment': draw.commitment,
        'tied': sorted(draw.tied),
        'drawn_at': draw.drawn_at, 'seed': draw.revealed_seed or None, 'order': draw.order if draw.drawn else None,
        'reason': draw.reason, 'superseded': draw.superseded,
    }


def proposal_data(proposal, hidden):
    rows = []
    for r in proposal.rows:
        row = {
            'grant': r.grant.pk, 'funded': r.line.funded, 'tied': r.tied,
            'offer': {c: str(v) for c, v in r.line.offer.items()},
            'reason_code': r.line.reason, 'reason': r.reason,
        }
        if r.grant.pk not in hidden:
            row.update(reviews=r.score.n, mean=r.score.raw, calibrated=r.score.calibrated, stddev=r.score.sd)
        rows.append(row)
    return {
        'strategy': proposal.options.strategy, 'basis': proposal.options.basis,
        'available': str(proposal.programme.budget) if proposal.programme.budget is not None else None,
        'offered_total': str(proposal.offered_total), 'tied': proposal.band,
        'draw': draw_data(proposal.draw or proposal.pending_draw) if (proposal.draw or proposal.pending_draw) else None,
        'needs_draw': proposal.needs_draw, 'rows': rows,
    }


class DecisionViewSet(PluginResourceMixin, viewsets.ViewSet):
    permission = MANAGE
    write_permission = MANAGE

    def _proposal(self, request):
        options, form = options_from(request.data if hasattr(request.data, 'items') else {}, request.event)
        if options is None:
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        return programme.propose(request.event, options)

    def _hidden(self, request, proposal):
        return programme.closed_to(request.event, request.user)

    @action(detail=False, methods=['post'])
    def proposal(self, request, *args, **kwargs):
        """A dry run: the proposal as the Decide page shows it; nothing changes."""
        p = self._proposal(request)
        return Response(proposal_data(p, self._hidden(request, p)))

    @action(detail=False, methods=['post'])
    def stage(self, request, *args, **kwargs):
        p = self._proposal(request)
        try:
            counts = programme.stage(request.event, p, user=request.user if request.user.is_authenticated else None,
                                     auth=request.auth)
        except programme.DrawError as e:
            return Response({'detail': str(e), 'tied': p.band}, status=status.HTTP_409_CONFLICT)
        return Response({'staged': counts, **proposal_data(p, self._hidden(request, p))})

    @action(detail=False, methods=['get'])
    def draws(self, request, *args, **kwargs):
        return Response({'results': [draw_data(d) for d in Draw.objects.filter(event=request.event).order_by('pk')]})

    @action(detail=False, methods=['get'], url_path=r'draws/(?P<draw>[0-9]{1,18})')
    def draw(self, request, draw=None, *args, **kwargs):
        d = Draw.objects.filter(event=request.event, pk=draw).first()
        if d is None:
            raise NotFound()
        data = draw_data(d)
        if d.drawn:
            data['check'] = {'commitment_matches': rules.commitment(d.seed) == d.commitment,
                             'order_recomputed': rules.draw_order(d.seed, d.tied) == d.order}
        return Response(data)
