"""
``/api/v1/organizers/{organizer}/events/{event}/grant_tickets/``: per grant, the person's own orders of the grant
product, what became of them (handling, state, pretix's refund) and the held place; ``POST …/{id}/retry/`` tries
a failed refund again. The grants resource filters by ``holds_ticket``.
"""
from django_scopes import scopes_disabled
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..base.api import PluginResourceMixin
from ..models import Grant, OwnTicket, TicketHold
from . import rules


class GrantTicketSerializer(serializers.ModelSerializer):
    orders = serializers.SerializerMethodField()
    handling = serializers.SerializerMethodField()
    own_ticket = serializers.SerializerMethodField()
    hold = serializers.SerializerMethodField()

    class Meta:
        model = Grant
        fields = ['id', 'status', 'voucher_state', 'orders', 'handling', 'own_ticket', 'hold']

    def get_orders(self, grant):
        return [{'code': p.order.code, 'status': p.order.status, 'position': p.positionid, 'price': str(p.price)}
                for p in rules.own_positions(grant)]

    def get_handling(self, grant):
        return rules.handling(grant.event)

    def get_own_ticket(self, grant):
        ot = OwnTicket.objects.filter(grant=grant).select_related('order', 'refund').first()
        if ot is None:
            return None
        r = ot.refund
        return {
            'order': ot.order.code, 'state': ot.state, 'choice': ot.choice or None, 'amount': str(ot.price_paid),
            'error': ot.error or None,
            'refund': {'id': r.local_id, 'state': r.state, 'amount': str(r.amount), 'provider': r.provider} if r else None,
        }

    def get_hold(self, grant):
        h = TicketHold.objects.filter(grant=grant).select_related('voucher').first()
        if h is None:
            return None
        return {'state': h.state, 'voucher': h.voucher.code if h.voucher else None}


class GrantTicketViewSet(PluginResourceMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = GrantTicketSerializer
    queryset = Grant.objects.none()

    @scopes_disabled()  # filtered by the event, which the permission check has established
    def get_queryset(self):
        return Grant.objects.filter(event=self.request.event).select_related('event')

    @action(detail=True, methods=['POST'])
    def retry(self, request, *args, **kwargs):
        grant = self.get_object()
        ot = OwnTicket.objects.filter(grant=grant).first()
        if ot is None:
            return Response({'detail': 'This grant has no refund.'}, status=status.HTTP_400_BAD_REQUEST)
        try:
            rules.retry(ot, user=request.user if request.user.is_authenticated else None, auth=request.auth)
        except rules.NotAllowed as e:
            return Response({'detail': str(e)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(Grant.objects.get(pk=grant.pk)).data)
