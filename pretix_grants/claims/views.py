"""
The grantee's reimbursement claim, a page under their grant's secret page: amounts per category with receipts, and
the payout details. Every rule is ``claims``'s: this module only turns the form into its calls and its answers into
messages. Receipts are served only here (to whoever holds the grant's secret link) and in the control panel.
"""
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from django.views import View
from django.views.generic import TemplateView
from pretix.base.i18n import LazyCurrencyNumber
from pretix.multidomain.urlreverse import eventreverse

from ..base.grantpage import GrantPageMixin
from ..models import Claim, Receipt
from . import rules as claims

# What each state means for the grantee: (heading, explanation).
STATE_TEXTS = {
    None: (pgettext_lazy('claim', 'Claim your reimbursement'),
           _('Tell us what you spent, add your receipts and how we should pay you. You can save your claim as a '
             'draft and submit it when it is complete.')),
    Claim.STATE_DRAFT: (pgettext_lazy('claim', 'Your claim is a draft'),
                        _('We have not received it yet: submit it once it is complete.')),
    Claim.STATE_SUBMITTED: (pgettext_lazy('claim', 'Your claim has been submitted'),
                            _('We will check it and tell you our decision by email.')),
    Claim.STATE_CHANGES_REQUESTED: (pgettext_lazy('claim', 'Please change your claim'),
                                    _('We need you to change something before we can approve your claim. Please '
                                      'submit it again afterwards.')),
    Claim.STATE_APPROVED: (pgettext_lazy('claim', 'Your claim has been approved'),
                           _('We will pay you the approved amount and tell you by email when it is on its way.')),
    Claim.STATE_REJECTED: (pgettext_lazy('claim', 'Your claim has been rejected'),
                           _('We are sorry: we cannot reimburse this claim.')),
    Claim.STATE_PAID: (pgettext_lazy('claim', 'Your reimbursement has been paid'),
                       _('The money is on its way. Depending on your bank, it may take a few days to arrive.')),
}
ACCEPT = ','.join(['application/pdf', 'image/jpeg', 'image/png'])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field, each cleaned as ``FileField`` cleans one."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('widget', MultipleFileInput(attrs={'accept': ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [f for f in (super(MultipleFileField, self).clean(d, initial) for d in files if d) if f]


class ClaimForm(forms.Form):
    def __init__(self, *args, grant, claim, **kwargs):
        super().__init__(*args, **kwargs)
        self.grant, self.claim = grant, claim
        event = grant.event
        items = {i.category: i for i in claim.items.all()} if claim else {}
        self.categories = []
        for cat, granted in grant.amounts.items():
            if not granted:
                continue
            label = claims.CATEGORY_LABELS[cat]
            item = items.get(cat)
            self.fields[f'{cat}_amount'] = forms.DecimalField(
                label=_('{category}: amount claimed').format(category=label), required=False, min_value=0,
                max_digits=13, decimal_places=2, initial=item.amount if item else None,
                help_text=_('Granted: {amount}').format(amount=LazyCurrencyNumber(granted, event.currency)),
                widget=forms.NumberInput(attrs={'step': '0.01', 'min': '0', 'inputmode': 'decimal'}),
            )
            self.fields[f'{cat}_description'] = forms.CharField(
                label=_('What for'), required=False, max_length=1000, initial=item.description if item else '',
                widget=forms.Textarea(attrs={'rows': 2}),
            )
            self.fields[f'{cat}_receipts'] = MultipleFileField(
                label=_('Add receipts'), required=False,
                help_text=_('PDF, JPEG or PNG, up to {size} MB each.').format(
                    size=claims.MAX_RECEIPT_SIZE // (1024 * 1024)),
            )
            self.categories.append((cat, label, item))
        # receipts checked on an earlier submit that had errors, kept so they need not be chosen again
        held = claims.held_receipts(grant, self.data.getlist('held_receipts')) if self.is_bound else {}
        dropped = set(self.data.getlist('drop_held')) if self.is_bound else set()
        self.held = {cat: [cf for cf in cfs if str(cf.id) not in dropped] for cat, cfs in held.items()}
        self.dropped = {cat: [cf for cf in cfs if str(cf.id) in dropped] for cat, cfs in held.items()}
        self.new_uploads = {}
        receipts = list(Receipt.objects.filter(item__claim=claim)) if claim else []
        if receipts:
            self.fields['remove_receipts'] = forms.MultipleChoiceField(
                choices=[(str(r.pk), r.original_name or str(r.pk)) for r in receipts], required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        allow_other = event.settings.get('grants_claims_allow_other_payout', as_type=bool)
        method = claim.payout_method if claim else Claim.PAYOUT_BANK
        self.fields['payout_method'] = forms.ChoiceField(
            label=_('How should we pay you?'), choices=Claim.PAYOUT_CHOICES, initial=method,
            widget=forms.RadioSelect if allow_other else forms.HiddenInput,
        )
        self.fields['account_holder'] = forms.CharField(
            label=_('Account holder'), required=False, max_length=70, initial=claim.account_holder if claim else '',
            widget=forms.TextInput(attrs={'autocomplete': 'name'}))
        self.fields['iban'] = forms.CharField(
            label=_('IBAN'), required=False, max_length=50, initial=claim.iban if claim else '',
            widget=forms.TextInput(attrs={'autocomplete': 'off', 'spellcheck': 'false'}))
        self.fields['bic'] = forms.CharField(
            label=_('BIC'), required=False, max_length=20, initial=claim.bic if claim else '',
            help_text=_('Needed only for a bank account outside the SEPA area.'),
            widget=forms.TextInput(attrs={'autocomplete': 'off', 'spellcheck': 'false'}))
        if allow_other:
            self.fields['payout_other'] = forms.CharField(
                label=_('Other payout method'), required=False, max_length=1000,
                initial=claim.payout_other if claim else '',
                help_text=_('For example your PayPal address.'), widget=forms.Textarea(attrs={'rows': 2}))

    def clean(self):
        data = super().clean()
        self.receipts = {}
        for cat, label, item in self.categories:
            field = f'{cat}_receipts'
            accepted = [(claims.held_upload(cf), cf.type) for cf in self.held.get(cat, [])]
            for upload in data.get(field) or []:
                try:
                    content_type = claims.check_receipt(upload)
                except ValidationError as e:
                    self.add_error(field, e)
                else:
                    accepted.append((upload, content_type))
                    self.new_uploads.setdefault(cat, []).append((upload, content_type))
            if accepted:
                self.receipts[cat] = accepted
        return data

    def add_rule_errors(self, errors):
        """The claim rules' errors (``claims.problems``, ``claims.save``), each once, beside the form's own."""
        for field, messages_ in errors.items():
            field = field if field in self.fields else None
            if field is None:
                known = set(self.non_field_errors())
                messages_ = [m for m in (messages_ if isinstance(messages_, list) else [messages_]) if str(m) not in known]
                if messages_:
                    self.add_error(None, messages_)
            elif field not in self.errors:
                self.add_error(field, messages_)

    def hold_new_receipts(self):
        """After a failed submit: keep the new receipts that were accepted, to be shown and sent again."""
        for cat, uploads in self.new_uploads.items():
            for upload, content_type in uploads:
                self.held.setdefault(cat, []).append(claims.hold_receipt(self.grant, cat, upload, content_type))
        self.new_uploads = {}
        claims.release_held(self.dropped)
        self.dropped = {}

    def release_held(self):
        """After a save: the held receipts are the claim's receipts now."""
        claims.release_held(self.held)
        claims.release_held(self.dropped)

    def items(self):
        d = self.cleaned_data
        return {cat: (d.get(f'{cat}_amount'), d.get(f'{cat}_description') or '') for cat, label, item in self.categories}

    def payout(self):
        d = self.cleaned_data
        return {'method': d.get('payout_method'), 'account_holder': d.get('account_holder', ''),
                'iban': d.get('iban', ''), 'bic': d.get('bic', ''), 'other': d.get('payout_other', '')}

    def category_fields(self):
        """
        (label, amount field, description field, receipts field, kept receipts, held receipts) per category, for
        the template.
        """
        receipts = {}
        if self.claim:
            for r in Receipt.objects.filter(item__claim=self.claim).select_related('item'):
                receipts.setdefault(r.item.category, []).append(r)
        return [(label, self[f'{cat}_amount'], self[f'{cat}_description'], self[f'{cat}_receipts'],
                 receipts.get(cat, []), self.held.get(cat, [])) for cat, label, item in self.categories]


class ClaimView(GrantPageMixin, TemplateView):
    """GET shows the claim; POST saves it (``claim_step=save``) or saves and submits it (``claim_step=submit``)."""
    template_name = 'pretix_grants/claim.html'
    holds_personal_data = True

    @property
    def claim_page_url(self):
        return eventreverse(self.request.event, 'plugins:pretix_grants:claim', kwargs={'secret': self.grant.secret})

    def get(self, request, *args, **kwargs):
        if not claims.claimable(self.grant):
            raise Http404(_('This grant has no amounts to claim.'))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        g = self.grant
        claim = claims.claim_of(g)
        closed = claims.closed_reason(g, claim)
        opens, deadline = claims.window(g.event)
        heading, text = STATE_TEXTS[claim.state if claim else None]
        if form is None and not closed:
            form = ClaimForm(grant=g, claim=claim)
        ctx.update({
            'grant': g,
            'claim': claim,
            'state_heading': heading,
            'state_text': text,
            'closed_reason': closed,
            'submit_blocker': claims.submit_blocker(g),
            'deadline': deadline,
            'opens': opens,
            'form': None if closed else form,
            'page_url': self.url,
            'claim_url': self.claim_page_url,
            'items': list(claim.items.prefetch_related('receipts')) if claim else [],
        })
        return ctx

    def post(self, request, *args, **kwargs):
        g = self.grant
        if not claims.claimable(g):
            raise Http404(_('This grant has no amounts to claim.'))
        claim = claims.claim_of(g)
        closed = claims.closed_reason(g, claim)
        if closed:
            messages.error(request, _('Your claim was not saved. {reason}').format(reason=closed))
            return redirect(self.claim_page_url)
        form = ClaimForm(request.POST, request.FILES, grant=g, claim=claim)
        submit = request.POST.get('claim_step') == 'submit'
        if not form.is_valid():
            # the form's own errors (a file that is no receipt, an amount that is no number) and, at once, the ones
            # the claim rules find in the rest: one round of corrections, not one per kind of error
            rule_errors, _payout = claims.problems(
                g, claim, items=form.items(), payout=form.payout(), new_receipts=form.receipts,
                remove_receipts=form.cleaned_data.get('remove_receipts') or [], submit=submit)
            form.add_rule_errors(rule_errors)
        else:
            try:
                claims.save(g, items=form.items(), payout=form.payout(), new_receipts=form.receipts,
                            remove_receipts=form.cleaned_data.get('remove_receipts') or [], submit=submit)
            except ValidationError as e:
                form.add_rule_errors(e.message_dict)
            except claims.ClaimError as e:
                messages.error(request, _('Your claim was not saved. {reason}').format(reason=e))
                return redirect(self.claim_page_url)
            else:
                form.release_held()
                messages.success(request, _('Thank you: your claim has been submitted.') if submit
                                 else _('Your claim has been saved as a draft.'))
                return redirect(self.claim_page_url)
        form.hold_new_receipts()
        messages.error(request, _('Your claim was not saved: please check the fields marked below.'))
        return self.render_to_response(self.get_context_data(form=form))


class ReceiptView(GrantPageMixin, View):
    """A receipt of this grant's claim, to whoever holds the grant's secret link; any other receipt is a 404."""
    holds_personal_data = True

    def get(self, request, *args, **kwargs):
        receipt = Receipt.objects.filter(pk=kwargs['receipt'], item__claim__grant=self.grant).first()
        if receipt is None:
            raise Http404(_('This receipt does not exist.'))
        return claims.receipt_response(receipt)
