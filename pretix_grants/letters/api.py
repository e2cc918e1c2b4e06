"""
Visa invitation letter requests in pretix's REST API: ``/api/v1/organizers/{organizer}/events/{event}/letter_requests/``.

Read with the plugin's view permission (the passport data, the PDF and data corrections only with its personal data
permission), the actions (``approve``, ``reject``, ``withdraw``, data corrections with PATCH) with its manage
permission; all of them go through ``letters``, as the control panel's buttons do. The
issued PDF is at ``…/letter_requests/{id}/pdf/``.
"""
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django_filters.rest_framework import CharFilter, FilterSet
from django_scopes import scopes_disabled
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import (
    NotFound, PermissionDenied, ValidationError,
)
from rest_framework.response import Response

from ..base.api import PluginResourceMixin, refused
from ..models import LetterRequest
from ..permissions import PERSONAL, sees_personal_data
from . import rules as letters
from .forms import LetterForm

# the passport data: only for tokens with the personal data permission (permissions.PERSONAL)
PERSONAL_FIELDS = ('nationality', 'passport_number', 'passport_expiry', 'date_of_birth', 'address', 'consulate')


class LetterRequestSerializer(serializers.ModelSerializer):
    nationality = serializers.CharField(source='nationality.code', read_only=True, allow_null=True)
    grant = serializers.PrimaryKeyRelatedField(read_only=True)
    order = serializers.SlugRelatedField(slug_field='code', read_only=True)
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = LetterRequest
        fields = ['id', 'reference', 'status', 'reason', 'grant', 'order', 'email', 'locale', 'full_name',
                  'nationality', 'passport_number', 'passport_expiry', 'date_of_birth', 'address', 'consulate',
                  'issued_at', 'rendered_at', 'created', 'modified', 'verify_url']
        read_only_fields = ['id', 'reference', 'status', 'reason', 'email', 'locale', 'issued_at', 'rendered_at',
                            'created', 'modified']

    def get_verify_url(self, letter):
        return letters.verify_url(letter) if letter.issued_at else None

    def to_representation(self, instance):
        instance.event = self.context['event']
        data = super().to_representation(instance)
        if not self.context.get('personal'):
            for f in PERSONAL_FIELDS:
                data.pop(f, None)
        return data


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default='', max_length=2000)


class LetterFilter(FilterSet):
    status = CharFilter(field_name='status')
    reference = CharFilter(field_name='reference', lookup_expr='iexact')

    class Meta:
        model = LetterRequest
        fields = ['status', 'reference']


class LetterRequestViewSet(PluginResourceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                           viewsets.GenericViewSet):
    serializer_class = LetterRequestSerializer
    queryset = LetterRequest.objects.none()
    filterset_class = LetterFilter
    ordering_fields = ('id', 'created', 'modified', 'status')

    @scopes_disabled()  # filtered by the event, which the permission check has established
    def get_queryset(self):
        return LetterRequest.objects.filter(event=self.request.event).select_related('grant', 'order')

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        ctx['event'] = self.request.event
        ctx['personal'] = sees_personal_data(self.request)
        return ctx

    def _need_personal(self):
        if not sees_personal_data(self.request):
            raise PermissionDenied(_('This needs the permission for personal data ({permission}).').format(
                permission=PERSONAL))

    def _answer(self, letter):
        return Response(self.get_serializer(self.get_queryset().get(pk=letter.pk)).data)

    def update(self, request, *args, **kwargs):
        """A data correction, validated as the requester's form is; an issued letter is issued again."""
        self._need_personal()
        letter = self.get_object()
        data = {f: getattr(letter, f) for f in letters.DATA_FIELDS}
        data['nationality'] = letter.nationality.code if letter.nationality else ''
        for key in letters.DATA_FIELDS:
            if key in request.data:
                data[key] = request.data[key]
        unknown = set(request.data) - set(letters.DATA_FIELDS)
        if unknown:
            raise ValidationError({k: [_('This field cannot be changed here.')] for k in sorted(unknown)})
        form = LetterForm(data=data, instance=LetterRequest(event=request.event), event=request.event)
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        letters.correct(letter, {f: form.cleaned_data[f] for f in letters.DATA_FIELDS},
                        user=request.user, auth=request.auth)
        return self._answer(letter)

    def _step(self, do):
        letter = self.get_object()
        s = ReasonSerializer(data=self.request.data)
        s.is_valid(raise_exception=True)
        try:
            do(letter, **s.validated_data)
        except letters.LetterError as e:
            letter.refresh_from_db(fields=['status'])
            return refused(e, status=letter.status)
        return self._answer(letter)

    @action(detail=True, methods=['POST'])
    def approve(self, request, *args, **kwargs):
        return self._step(lambda letter, reason='': letters.approve(letter, user=request.user, auth=request.auth))

    @action(detail=True, methods=['POST'])
    def reject(self, request, *args, **kwargs):
        return self._step(lambda letter, reason='': letters.reject(letter, reason, user=request.user,
                                                                   auth=request.auth))

    @action(detail=True, methods=['POST'])
    def withdraw(self, request, *args, **kwargs):
        return self._step(lambda letter, reason='': letters.withdraw(letter, reason, user=request.user,
                                                                     auth=request.auth))

    @action(detail=True, methods=['GET'])
    def pdf(self, request, *args, **kwargs):
        self._need_personal()
        content = letters.pdf_content(self.get_object())
        if content is None:
            raise NotFound(_('This request has no issued letter.'))
        response = HttpResponse(content, content_type='application/pdf')
        response['Content-Disposition'] = f'attachment; filename="{letters.filename(self.get_object())}"'
        return response
