"""
The organizers' side of reimbursement claims: the list with its totals, a claim with its receipts and the decision,
bulk "mark as paid", the payout files and the claim settings. Every change goes through ``claims``.
"""
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _, ngettext, pgettext_lazy
from django.views import View
from django.views.generic import FormView, ListView, TemplateView
from pretix.base.forms import SettingsForm
from pretix.base.models import LogEntry

from ..base.pages import PluginPageMixin
from ..models import Claim, ClaimItem, PayoutBatch, Receipt, as_labels
from ..permissions import MANAGE, PERSONAL
from . import payouts as claim_payouts, rules as claims


def claims_url(event, name='control.claims', **kwargs):
    return reverse(f'plugins:pretix_grants:{name}', kwargs={
        'organizer': event.organizer.slug, 'event': event.slug, **kwargs})


class ClaimFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=(('', pgettext_lazy('filter', 'All states')),
                                                       *as_labels(Claim.STATE_CHOICES)))
    category = forms.ChoiceField(required=False, choices=(('', pgettext_lazy('filter', 'All categories')),
                                                          *ClaimItem.CATEGORY_CHOICES))


class ClaimViewMixin(PluginPageMixin):
    def get_claim(self):
        claim = (Claim.objects.filter(grant__event=self.request.event, pk=self.kwargs['claim'])
                 .select_related('grant', 'grant__event').first())
        if claim is None:
            raise Http404(_('This claim does not exist.'))
        return claim


class ClaimList(ClaimViewMixin, ListView):
    template_name = 'pretix_grants/control/claims_list.html'
    context_object_name = 'claims'
    paginate_by = 100

    def get_queryset(self):
        self.filter_form = ClaimFilterForm(data=self.request.GET)
        qs = Claim.objects.filter(grant__event=self.request.event).select_related('grant').prefetch_related('items')
        if self.filter_form.is_valid():
            if self.filter_form.cleaned_data['state']:
                qs = qs.filter(state=self.filter_form.cleaned_data['state'])
            if self.filter_form.cleaned_data['category']:
                qs = qs.filter(items__category=self.filter_form.cleaned_data['category'], items__amount__gt=0)
        return qs.distinct().order_by('-submitted_at', 'pk')

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['filter_form'] = self.filter_form
        ctx['totals'] = claims.totals(self.request.event)
        ctx['payable_count'] = claims.payable(self.request.event).count()
        return ctx


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=(
        ('approve', _('Approve')), ('request_changes', _('Request changes')), ('reject', _('Reject')),
    ), widget=forms.RadioSelect, label=_('Decision'))
    amount = forms.DecimalField(label=_('Approved amount'), required=False, min_value=Decimal('0.01'),
                                max_digits=13, decimal_places=2,
                                help_text=_('Lower than the amount claimed for a partial approval.'))
    message = forms.CharField(label=_('Message to the grantee'), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={'rows': 3}),
                              help_text=_('Sent with the decision. Required when you request changes or reject.'))


class ClaimDetail(ClaimViewMixin, TemplateView):
    template_name = 'pretix_grants/control/claim_detail.html'

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        claim = self.get_claim()
        ctx.update({
            'claim': claim,
            'grant': claim.grant,
            'items': list(claim.items.prefetch_related('receipts')),
            'form': form or DecisionForm(initial={'amount': claim.claimed_amount, 'decision': 'approve'}),
            'logs': LogEntry.objects.filter(content_type__model='claim', object_id=claim.pk,
                                            event=self.request.event).select_related('user', 'content_type', 'api_token').order_by('-datetime'),
            'in_sepa': claims.in_sepa(claim),
            'bic_needed': bool(claim.iban) and claims.bic_needed(claim.iban),
        })
        return ctx

    def post(self, request, *args, **kwargs):
        if not request.user.has_event_permission(request.organizer, request.event, MANAGE, request=request):
            raise Http404()
        claim = self.get_claim()
        if request.POST.get('mark_paid'):
            if claims.mark_paid([claim], user=request.user):
                messages.success(request, _('The claim has been marked as paid.'))
            else:
                messages.error(request, _('Only an approved claim can be marked as paid.'))
            return redirect(claims_url(request.event, 'control.claim', claim=claim.pk))
        form = DecisionForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                if d['decision'] == 'approve':
                    claims.approve(claim, d['amount'], d['message'], user=request.user)
                elif d['decision'] == 'request_changes':
                    claims.request_changes(claim, d['message'], user=request.user)
                else:
                    claims.reject(claim, d['message'], user=request.user)
            except claims.ClaimError as e:
                form.add_error(None, str(e))
            else:
                messages.success(request, _('Your decision has been saved and sent to the grantee.'))
                return redirect(claims_url(request.event, 'control.claim', claim=claim.pk))
        messages.error(request, _('Your decision was not saved. Please check the form below.'))
        return self.render_to_response(self.get_context_data(form=form))


class ClaimReceipt(ClaimViewMixin, View):
    """A receipt of a claim of this event, to a team member with access to personal data; anything else is a 404."""
    permission = PERSONAL

    def get(self, request, *args, **kwargs):
        receipt = Receipt.objects.filter(pk=kwargs['receipt'], item__claim__pk=kwargs['claim'],
                                         item__claim__grant__event=request.event).first()
        if receipt is None:
            raise Http404(_('This receipt does not exist.'))
        return claims.receipt_response(receipt)


def _selected(request):
    ids = [int(i) for i in request.POST.getlist('claim') if i.isdigit()]
    return list(Claim.objects.filter(grant__event=request.event, pk__in=ids).select_related('grant'))


class ClaimsPaid(ClaimViewMixin, View):
    """Bulk "mark as paid": the approved claims among those chosen."""
    permission = MANAGE

    def post(self, request, *args, **kwargs):
        chosen = _selected(request)
        done = claims.mark_paid(chosen, user=request.user)
        if done:
            messages.success(request, ngettext('{count} claim has been marked as paid.',
                                               '{count} claims have been marked as paid.', len(done)).format(
                count=len(done)))
        if not chosen:
            messages.warning(request, _('Please choose the claims to mark as paid.'))
        elif len(done) < len(chosen):
            messages.warning(request, _('{count} of the chosen claims were not approved and have not been marked '
                                        'as paid.').format(count=len(chosen) - len(done)))
        return redirect(request.POST.get('next') == 'export' and claims_url(request.event, 'control.claims.export')
                        or claims_url(request.event))


class ClaimSettingsForm(SettingsForm):
    grants_claims_open = forms.DateTimeField(
        label=_('Claims open'), required=False,
        help_text=_('Leave empty to open claims when the event starts.'))
    grants_claims_deadline = forms.DateTimeField(
        label=_('Claim deadline'), required=False,
        help_text=_('Leave empty for a number of days after the event ends (below).'))
    grants_claims_days = forms.IntegerField(label=_('Days after the event for claims'), min_value=0)
    grants_claims_reminder_days = forms.IntegerField(
        label=_('Remind grantees who have not claimed this many days before the deadline'), min_value=0)
    grants_claims_require_checkin = forms.BooleanField(
        label=_('Claims need a checked-in ticket'), required=False,
        help_text=_('A grantee can submit their claim only after their ticket was checked in at the event.'))
    grants_claims_allow_other_payout = forms.BooleanField(
        label=_('Allow another payout method than a bank account'), required=False,
        help_text=_('Grantees may then give e.g. a PayPal address instead of an IBAN.'))
    grants_payout_account_holder = forms.CharField(label=_('Your account holder'), required=False, max_length=70)
    grants_payout_iban = forms.CharField(label=_('Your IBAN'), required=False, max_length=50)
    grants_payout_bic = forms.CharField(label=_('Your BIC'), required=False, max_length=20)

    def clean(self):
        d = super().clean()
        if d.get('grants_payout_iban') or d.get('grants_payout_bic'):
            try:
                p = claims.clean_payout(self.obj, 'bank', d.get('grants_payout_account_holder'),
                                        d.get('grants_payout_iban'), d.get('grants_payout_bic'))
            except ValidationError as e:
                for field, errors in e.message_dict.items():
                    self.add_error({'iban': 'grants_payout_iban', 'bic': 'grants_payout_bic'}.get(field), errors)
            else:
                d['grants_payout_iban'], d['grants_payout_bic'] = p['iban'], p['bic']
        return d


class ClaimSettings(ClaimViewMixin, FormView):
    permission = MANAGE
    template_name = 'pretix_grants/control/claims_settings.html'
    form_class = ClaimSettingsForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs['obj'] = self.request.event
        return kwargs

    def form_valid(self, form):
        form.save()
        if form.has_changed():
            self.request.event.log_action('pretix.event.settings', user=self.request.user, data={
                k: form.cleaned_data.get(k) for k in form.changed_data if 'iban' not in k and 'bic' not in k})
        messages.success(self.request, _('Your changes have been saved.'))
        return redirect(claims_url(self.request.event, 'control.claims.settings'))


# Payout batches (payouts.py): the payout page, a batch, its file, mark as paid, cancel. Managers with the personal
# data permission only: the files hold account details.

class PayoutExport(PluginPageMixin, TemplateView):
    """The approved claims in no batch, the file formats, and the event's batches."""
    permission = MANAGE
    also_required = (PERSONAL,)
    template_name = 'pretix_grants/control/claims_export.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        payable = list(claims.payable(event))
        s = event.settings
        problems = {c.pk: claim_payouts.sepa_problem(c) for c in payable}
        for c in payable:
            c.sepa_problem = problems[c.pk]
        account_ready = bool(s.grants_payout_account_holder and s.grants_payout_iban)
        sepa_claims = [c for c in payable if not c.sepa_problem]
        ctx.update({
            'payable': payable,
            'sepa_claims': sepa_claims,
            'other_claims': [c for c in payable if c.sepa_problem],
            'total': sum((c.approved_amount for c in payable), Decimal('0.00')),
            'account_ready': account_ready,
            'sepa_ready': event.currency == 'EUR' and account_ready and bool(sepa_claims),
            'batches': PayoutBatch.objects.filter(event=event).select_related('created_by', 'cancelled_by')[:50],
        })
        return ctx

    def post(self, request, *args, **kwargs):
        try:
            batch, left_out = claim_payouts.create_batch(
                request.event, request.POST.get('export_format'), request.POST.getlist('claim'), user=request.user)
        except claims.ClaimError as e:
            messages.error(request, str(e))
            return redirect(claims_url(request.event, 'control.claims.export'))
        count = batch.entries.count()
        messages.success(request, ngettext('Payout batch #{batch} with one claim has been created.',
                                           'Payout batch #{batch} with {count} claims has been created.',
                                           count).format(batch=batch.pk, count=count))
        for claim, reason in left_out:
            messages.warning(request, _('The claim of {name} (grant {grant}) is not in the file: {reason}').format(
                name=claim.grant.name, grant=claim.grant_id, reason=reason))
        return redirect(claims_url(request.event, 'control.payout', batch=batch.pk))


class BatchMixin(PluginPageMixin):
    permission = MANAGE
    also_required = (PERSONAL,)

    def get_batch(self):
        batch = PayoutBatch.objects.filter(event=self.request.event, pk=self.kwargs['batch']).first()
        if batch is None:
            raise Http404(_('This payout batch does not exist.'))
        return batch


class BatchDetail(BatchMixin, TemplateView):
    template_name = 'pretix_grants/control/payout_batch.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        batch = self.get_batch()
        ctx.update({
            'batch': batch,
            'entries': list(batch.entries.select_related('claim', 'claim__grant').order_by('claim__grant__name', 'pk')),
            'logs': LogEntry.objects.filter(content_type__model='payoutbatch', object_id=batch.pk,
                                            event=self.request.event).select_related('user').order_by('-datetime'),
        })
        return ctx


class BatchDownload(BatchMixin, View):
    """The batch's file as it was made: the same bytes at every download."""

    def get(self, request, *args, **kwargs):
        batch = self.get_batch()
        if not batch.content:
            raise Http404(_('The file of this payout batch has been deleted with the payout details.'))
        ext, content_type = claim_payouts.EXTENSIONS[batch.format]
        resp = HttpResponse(bytes(batch.content), content_type=content_type)
        resp['Content-Disposition'] = f'attachment; filename="{batch.filename}"'
        resp['Cache-Control'] = 'private, no-store'
        return resp


class BatchPaid(BatchMixin, View):
    def post(self, request, *args, **kwargs):
        batch = self.get_batch()
        try:
            done = claim_payouts.mark_paid(batch, user=request.user)
        except claims.ClaimError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, ngettext('{count} claim has been marked as paid.',
                                               '{count} claims have been marked as paid.', len(done)).format(
                count=len(done)))
        return redirect(claims_url(request.event, 'control.payout', batch=batch.pk))


class BatchCancel(BatchMixin, View):
    def post(self, request, *args, **kwargs):
        batch = self.get_batch()
        try:
            claim_payouts.cancel(batch, user=request.user)
        except claims.ClaimError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, _('The payout batch has been cancelled: its claims can be paid again.'))
        return redirect(claims_url(request.event, 'control.payout', batch=batch.pk))
