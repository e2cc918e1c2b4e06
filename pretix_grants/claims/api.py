"""
Reimbursement claims in pretix's REST API: ``/api/v1/organizers/{organizer}/events/{event}/grant_claims/``.

Read them, and with the personal data permission their receipts and payout details (as on the claim's page), and decide them
with the actions ``approve``, ``request_changes``, ``reject`` and ``mark_paid``, all through ``claims``. Grantees
write claims only on their own page.
"""
from decimal import Decimal

from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import FilterSet
from django_scopes import scopes_disabled
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from ..base.api import PluginResourceMixin, refused
from ..models import Claim, ClaimItem, Receipt
from ..permissions import PERSONAL, sees_personal_data
from . import rules as claims


class ReceiptSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source='original_name')

    class Meta:
        model = Receipt
        fields = ['id', 'name', 'content_type', 'size', 'created']


class ClaimItemSerializer(serializers.ModelSerializer):
    receipts = ReceiptSerializer(many=True, read_only=True)

    class Meta:
        model = ClaimItem
        fields = ['category', 'amount', 'description', 'receipts']


class PayoutSerializer(serializers.Serializer):
    method = serializers.CharField(source='payout_method')
    account_holder = serializers.CharField()
    iban = serializers.CharField()
    bic = serializers.CharField()
    other = serializers.CharField(source='payout_other')


class ClaimSerializer(serializers.ModelSerializer):
    items = ClaimItemSerializer(many=True, read_only=True)
    claimed_amount = serializers.DecimalField(max_digits=13, decimal_places=2, read_only=True)
    payout = PayoutSerializer(source='*', read_only=True)

    class Meta:
        model = Claim
        fields = ['id', 'grant', 'state', 'items', 'claimed_amount', 'approved_amount', 'message', 'payout',
                  'submitted_at', 'decided_at', 'paid_at', 'created', 'modified']
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get('personal'):
            # omitted, not blanked: a token without the personal data permission does not learn they exist
            data.pop('payout', None)
            for item in data.get('items', []):
                item.pop('receipts', None)
        return data


class ApproveSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=13, decimal_places=2, min_value=Decimal('0.01'), required=False,
                                      allow_null=True)
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=2000)


with scopes_disabled():
    class ClaimFilter(FilterSet):
        class Meta:
            model = Claim
            fields = ['state', 'grant']


class ClaimViewSet(PluginResourceMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ClaimSerializer
    queryset = Claim.objects.none()
    filterset_class = ClaimFilter
    ordering_fields = ('id', 'submitted_at', 'modified', 'state')

    @scopes_disabled()  # filtered by the event, which the permission check has established
    def get_queryset(self):
        return (Claim.objects.filter(grant__event=self.request.event).select_related('grant')
                .prefetch_related('items__receipts'))

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        ctx['personal'] = sees_personal_data(self.request)
        return ctx

    def _decide(self, serializer_class, do):
        claim = self.get_object()
        s = serializer_class(data=self.request.data)
        s.is_valid(raise_exception=True)
        try:
            do(claim, **s.validated_data)
        except claims.ClaimError as e:
            claim.refresh_from_db(fields=['state'])
            return refused(e, state=claim.state)
        return Response(self.get_serializer(self.get_queryset().get(pk=claim.pk)).data)

    def _actor(self):
        return {'user': self.request.user, 'auth': self.request.auth}

    @action(detail=True, methods=['POST'])
    def approve(self, request, *args, **kwargs):
        return self._decide(ApproveSerializer, lambda c, amount=None, message='': claims.approve(
            c, amount, message, **self._actor()))

    @action(detail=True, methods=['POST'])
    def request_changes(self, request, *args, **kwargs):
        return self._decide(MessageSerializer, lambda c, message: claims.request_changes(c, message, **self._actor()))

    @action(detail=True, methods=['POST'])
    def reject(self, request, *args, **kwargs):
        return self._decide(MessageSerializer, lambda c, message: claims.reject(c, message, **self._actor()))

    @action(detail=True, methods=['POST'])
    def mark_paid(self, request, *args, **kwargs):
        def pay(claim):
            claims.change_state(claim, Claim.STATE_PAID, actor=claims.ORGANIZER, **self._actor())
        return self._decide(serializers.Serializer, pay)

    @action(detail=True, methods=['GET'], url_path='receipts/(?P<receipt>[0-9]+)', url_name='receipt')
    def receipt(self, request, *args, **kwargs):
        if not sees_personal_data(request):
            raise PermissionDenied(_('This needs the permission for personal data ({permission}).').format(
                permission=PERSONAL))
        claim = self.get_object()
        receipt = Receipt.objects.filter(pk=kwargs['receipt'], item__claim=claim).first()
        if receipt is None:
            raise Http404()
        return claims.receipt_response(receipt)
