"""
The payout page and payout batches (claim_payouts.py): export the approved claims in no batch as a batch, download
a batch's file again, mark exactly its claims as paid, or cancel it. Managers with the personal data permission only: the files hold account details.
"""
from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _, ngettext
from django.views import View
from django.views.generic import TemplateView
from pretix.base.models import LogEntry

from .. import claim_payouts, claims
from ..models import PayoutBatch
from ..permissions import MANAGE, PERSONAL
from .claims import claims_url
from .pages import PluginPageMixin


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
