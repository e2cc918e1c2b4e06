"""
The grants resource of pretix's REST API: ``/api/v1/organizers/{organizer}/events/{event}/grants/``.

A thin layer over ``workflow``, ``issuance`` and ``mails``: every change goes through them, so the API, the
control panel and the grantee's page follow the same rules and write the same log.
"""
import json
import uuid
from datetime import timedelta
from decimal import Decimal

from celery.result import AsyncResult
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext as _, gettext_lazy
from django_filters.rest_framework import BooleanFilter, CharFilter, FilterSet
from django_scopes import scopes_disabled
from pretix.base.models import CachedFile, SubEvent
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse

from . import issuance, mails, reviews, workflow
from .actors import auth_key
from .base.api import PluginResourceMixin, refused
from .models import Grant
from .permissions import may_manage
from .tasks import publish_grants

# Which action changes what a client may not write directly.
READ_ONLY_HINTS = {
    'status': gettext_lazy('Use the decide/publish/confirm/refuse/cancel actions to change the status.'),
    'decision': gettext_lazy('Use the decide action to stage a decision.'),
    'voucher': gettext_lazy('Use the link_voucher action to link a voucher.'),
    'voucher_state': gettext_lazy('The voucher state follows from issuance; use link_voucher or resend_voucher.'),
    'requested': gettext_lazy('What the applicant asked for is kept as sent; set what is granted in "amounts".'),
    'reviews': gettext_lazy('Reviewers score applications on the review page of the control panel.'),
    'answers': gettext_lazy('The answers to the extra questions are kept as the applicant sent them.'),
}


class GrantAmountsSerializer(serializers.Serializer):
    ticket = serializers.BooleanField(required=False)
    travel = serializers.DecimalField(source='travel_amount', max_digits=13, decimal_places=2,
                                      min_value=Decimal('0.00'), required=False)
    accommodation = serializers.DecimalField(source='accommodation_amount', max_digits=13, decimal_places=2,
                                             min_value=Decimal('0.00'), required=False)
    other = serializers.DecimalField(source='other_amount', max_digits=13, decimal_places=2,
                                     min_value=Decimal('0.00'), required=False)


class RequestedSerializer(serializers.Serializer):
    ticket = serializers.BooleanField(source='requested_ticket', read_only=True)
    travel = serializers.DecimalField(source='requested_travel', max_digits=13, decimal_places=2, read_only=True)
    accommodation = serializers.DecimalField(source='requested_accommodation', max_digits=13, decimal_places=2,
                                             read_only=True)
    other = serializers.DecimalField(source='requested_other', max_digits=13, decimal_places=2, read_only=True)


class GrantSerializer(serializers.ModelSerializer):
    amounts = GrantAmountsSerializer(source='*', required=False)
    requested = RequestedSerializer(source='*', read_only=True)
    reviews = serializers.SerializerMethodField()
    voucher = serializers.SlugRelatedField(slug_field='code', read_only=True)
    subevent = serializers.PrimaryKeyRelatedField(queryset=SubEvent.objects.none(), required=False, allow_null=True)
    needs_attention = serializers.SerializerMethodField()
    reply_url = serializers.SerializerMethodField()

    class Meta:
        model = Grant
        fields = ['id', 'name', 'email', 'locale', 'grant_type', 'subevent', 'status', 'decision', 'reply_deadline',
                  'amounts',
                  'internal_note', 'voucher', 'voucher_state', 'needs_attention', 'reply_url', 'created',
                  'modified', 'requested', 'justification', 'motivation', 'answers', 'reviews']
        read_only_fields = ['id', 'status', 'decision', 'voucher_state', 'created', 'modified', 'answers']
        extra_kwargs = {'locale': {'required': False}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        event = self.context.get('event')
        if event is not None:
            self.fields['subevent'].queryset = event.subevents.all()

    def get_needs_attention(self, grant):
        if grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION:
            return grant.voucher_attention or None
        return None

    def get_reply_url(self, grant):
        return mails.reply_url(grant)

    def get_reviews(self, grant):
        """Review figures as the requester may see them (reviews.py): hidden from a reviewer who has not scored."""
        request = self.context['request']
        blind = reviews.is_reviewer(getattr(request, 'eventpermset', set()))
        if not hasattr(grant, 'review_count'):
            grant = reviews.annotate(Grant.objects.filter(pk=grant.pk), request.user, blind).get()
        visible = not blind or grant.own_score is not None
        return {
            'count': grant.review_count,
            'mean': grant.review_mean,
            'stddev': grant.review_stddev,
            'own_score': grant.own_score,
            'reviews': [{'reviewer': r.user.email, 'score': r.score, 'note': r.note}
                        for r in grant.reviews.all()] if visible else [],
        }

    def to_representation(self, instance):
        # every grant here belongs to the request's event: spare a query per row
        instance.event = self.context['event']
        data = super().to_representation(instance)
        request = self.context.get('request')
        if request is None or not may_manage(request):
            # the grantee's secret link acts as the grantee: only for tokens that may manage grants
            data.pop('reply_url', None)
        return data

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {f: [str(hint)] for f, hint in READ_ONLY_HINTS.items() if f in data}
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)

    def validate_locale(self, value):
        locales = self.context['event'].settings.locales
        if value not in locales:
            raise ValidationError(_('"{locale}" is not one of the event\'s languages ({locales}).').format(
                locale=value, locales=', '.join(locales)))
        return value

    def validate_email(self, value):
        qs = Grant.objects.filter(event=self.context['event'], email__iexact=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise ValidationError(str(workflow.DuplicateGrant()))
        return value


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[d for d, label in Grant.DECISION_CHOICES], allow_null=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class LinkVoucherSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=255)


class BulkPublishSerializer(serializers.Serializer):
    # ids the database can hold: a larger number would not be "unknown" but an error of the database driver
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2 ** 63 - 1), required=False,
                                allow_empty=False)


with scopes_disabled():
    class GrantFilter(FilterSet):
        email = CharFilter(lookup_expr='iexact')
        search = CharFilter(method='search_qs')
        # tickets/: the person holds a ticket of the grant product they bought themselves
        holds_ticket = BooleanFilter(method='holds_ticket_qs')

        class Meta:
            model = Grant
            fields = ['status', 'decision', 'voucher_state', 'email', 'grant_type']

        def search_qs(self, qs, name, value):
            return qs.filter(Q(name__icontains=value) | Q(email__icontains=value))

        def holds_ticket_qs(self, qs, name, value):
            holding = issuance.holding_own_ticket(self.request.event, qs)
            return holding if value else qs.exclude(pk__in=holding.values('pk'))


def _actor(request):
    return {'user': request.user, 'auth': request.auth}


def _illegal(grant, message):
    """400 with the reason, naming the grant's current status."""
    grant.refresh_from_db(fields=['status'])
    label = str(dict(Grant.STATUS_CHOICES).get(grant.status, grant.status))
    detail = str(message)
    if label not in detail:
        detail = '{} {}'.format(detail, _('The grant is "{status}".').format(status=label))
    return refused(detail, status=grant.status)


class GrantViewSet(PluginResourceMixin, viewsets.ModelViewSet):
    serializer_class = GrantSerializer
    queryset = Grant.objects.none()
    filterset_class = GrantFilter
    ordering_fields = ('id', 'created', 'modified', 'name', 'status')

    @scopes_disabled()  # filtered by the event, which the permission check has established
    def get_queryset(self):
        blind = reviews.is_reviewer(getattr(self.request, 'eventpermset', set()))
        qs = Grant.objects.filter(event=self.request.event).open_to(self.request.user).select_related('voucher')
        return reviews.annotate(qs, self.request.user, blind).prefetch_related('reviews__user')

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        ctx['event'] = self.request.event
        return ctx

    def _answer(self, grant, code=status.HTTP_200_OK):
        grant = self.get_queryset().get(pk=grant.pk)
        return Response(self.get_serializer(grant).data, status=code)

    def perform_create(self, serializer):
        try:
            serializer.instance = workflow.create_grant(self.request.event, **_actor(self.request),
                                                        **serializer.validated_data)
        except workflow.DuplicateGrant as e:
            raise ValidationError({'email': [str(e)]})

    def perform_update(self, serializer):
        try:
            g = workflow.change_fields(serializer.instance, serializer.validated_data, **_actor(self.request))
        except workflow.DateFixed as e:
            raise ValidationError({'subevent': [str(e)]})
        except IntegrityError:
            # a concurrent request took the email address between validation and save
            raise ValidationError({'email': [str(workflow.DuplicateGrant())]})
        serializer.instance = g

    def destroy(self, request, *args, **kwargs):
        grant = self.get_object()
        with transaction.atomic():
            g = workflow.lock(grant)
            if g.voucher_id or g.voucher_state in Grant.VOUCHER_STATES_DONE:
                return Response({'detail': _('This grant cannot be deleted because it holds voucher {code}. '
                                             'Cancel or refuse it first, which releases the voucher.').format(
                    code=g.voucher.code if g.voucher else '?')}, status=status.HTTP_400_BAD_REQUEST)
            g.log_action('pretix_grants.grant.deleted', data={'name': g.name, 'email': g.email, 'status': g.status},
                         **_actor(request))
            g.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _transition(self, serializer_class, do):
        grant = self.get_object()
        s = serializer_class(data=self.request.data)
        s.is_valid(raise_exception=True)
        try:
            do(grant, **s.validated_data)
        except workflow.GrantTransitionError as e:
            return _illegal(grant, e)
        return self._answer(grant)

    @action(detail=True, methods=['POST'])
    def decide(self, request, *args, **kwargs):
        return self._transition(DecideSerializer, lambda g, decision: workflow.stage_decision(
            g, decision, **_actor(request)))

    @action(detail=True, methods=['POST'])
    def publish(self, request, *args, **kwargs):
        return self._transition(serializers.Serializer, lambda g: workflow.publish(g, **_actor(request)))

    @action(detail=True, methods=['POST'])
    def confirm(self, request, *args, **kwargs):
        return self._transition(ReasonSerializer, lambda g, reason=None: workflow.confirm(
            g, actor=workflow.ORGANIZER, reason=reason, **_actor(request)))

    @action(detail=True, methods=['POST'])
    def refuse(self, request, *args, **kwargs):
        return self._transition(ReasonSerializer, lambda g, reason=None: workflow.refuse(
            g, actor=workflow.ORGANIZER, reason=reason, **_actor(request)))

    @action(detail=True, methods=['POST'])
    def cancel(self, request, *args, **kwargs):
        return self._transition(ReasonSerializer, lambda g, reason=None: workflow.cancel(
            g, reason=reason, **_actor(request)))

    @action(detail=True, methods=['POST'])
    def link_voucher(self, request, *args, **kwargs):
        grant = self.get_object()
        s = LinkVoucherSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            issuance.link_voucher(grant, s.validated_data['code'], **_actor(request))
        except issuance.VoucherLinkError as e:
            return Response({'detail': str(e)}, status=status.HTTP_400_BAD_REQUEST)
        return self._answer(grant)

    @action(detail=True, methods=['POST'])
    def issue_voucher(self, request, *args, **kwargs):
        """Issue the voucher of a confirmed grant that has none (e.g. after its voucher was deleted in pretix)."""
        grant = self.get_object()
        if not grant.is_due_for_voucher():
            return _illegal(grant, _('This grant is not due for a voucher: it holds one, is not confirmed or has no '
                                     'ticket.'))
        issuance.issue_voucher(grant, event=request.event, **_actor(request))
        return self._answer(grant)

    @action(detail=True, methods=['POST'])
    def resend_voucher(self, request, *args, **kwargs):
        grant = self.get_queryset().select_related('event').get(pk=self.get_object().pk)
        try:
            with transaction.atomic():
                mails.resend_voucher(grant, **_actor(request))
        except ValueError as e:
            return _illegal(grant, e)
        return self._answer(grant)

    # Publishing many decisions sends many mails: it runs as a task, the way pretix's API runs exports.
    @action(detail=False, methods=['POST'], url_path='publish', url_name='publish-all')
    def publish_all(self, request, *args, **kwargs):
        s = BulkPublishSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        ids = s.validated_data.get('ids')
        if ids is not None:
            unknown = set(ids) - set(self.get_queryset().filter(pk__in=ids).values_list('pk', flat=True))
            if unknown:
                raise ValidationError({'ids': [_('Unknown grant ids: {ids}').format(
                    ids=', '.join(str(i) for i in sorted(unknown)))]})

        cf = CachedFile(web_download=False, date=now(), expires=now() + timedelta(hours=24),
                        filename='publish.json', type='application/json')
        cf.bind_to_session(request, 'grants-publish')
        cf.save()
        async_result = publish_grants.apply_async(args=(request.event.pk,), kwargs={
            'ids': ids,
            'user': request.user.pk if request.user and request.user.is_authenticated else None,
            'auth': auth_key(request.auth),
            'cfid': str(cf.id),
        })
        url = reverse('api-v1:grant-publish-status', request=request, kwargs={
            **self.kwargs, 'asyncid': str(async_result.id), 'cfid': str(cf.id),
        })
        return Response({'status': url}, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=['GET'], url_name='publish-status',
            url_path='publish/(?P<asyncid>[^/]+)/(?P<cfid>[0-9a-f-]+)')
    def publish_status(self, request, *args, **kwargs):
        try:
            cfid = uuid.UUID(kwargs['cfid'])
        except ValueError:  # the URL admits any hex digits and dashes; only a UUID can name a result
            cfid = None
        cf = CachedFile.objects.filter(id=cfid).first() if cfid else None
        if cf is None or not cf.allowed_for_session(request, 'grants-publish'):
            return Response({'status': 'gone', 'detail': _('Unknown task, or its result has expired.')},
                            status=status.HTTP_410_GONE)
        if cf.file:
            cf.file.open('r')
            try:
                return Response({'status': 'ok', **json.loads(cf.file.read())})
            finally:
                cf.file.close()
        state = 'waiting'
        if settings.HAS_CELERY:
            res = AsyncResult(kwargs['asyncid'])
            if res.failed():
                return Response({'status': 'failed', 'detail': _('Internal error')}, status=status.HTTP_410_GONE)
            state = 'running' if res.state in ('PROGRESS', 'STARTED', 'SUCCESS') else 'waiting'
        return Response({'status': state}, status=status.HTTP_409_CONFLICT)
