from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from i18nfield.forms import I18nFormField, I18nTextarea, I18nTextInput
from pretix.base.forms import SettingsForm
from pretix.base.forms.widgets import SplitDateTimePickerWidget
from pretix.base.models import SubEvent
from pretix.base.reldate import RelativeDateTimeField
from pretix.base.services.placeholders import (
    PlaceholderValidator, format_placeholders_help_text,
    get_available_placeholders,
)
from pretix.control.forms import SplitDateTimeField

from .. import mails, retention, reviews
from ..applications import QUESTION_TYPES, parse_questions
from ..claims import rules as claims
from ..defaults import MAIL_TEMPLATES
from ..models import Grant, as_labels
from ..tickets import rules as tickets
from . import actions

MAIL_LABELS = {
    'received': _('Application received'),
    'decision_approved': _('Decision: approved (offer)'),
    'decision_waiting_list': _('Decision: waiting list'),
    'decision_rejected': _('Decision: rejected'),
    'voucher': _('Voucher'),
    'reminder': _('Reminder to reply'),
    'expired': _('Offer expired'),
    # reimbursement claims (claims.py)
    'claim_submitted': _('Claim submitted'),
    'claim_changes_requested': _('Claim: changes requested'),
    'claim_approved': _('Claim approved'),
    'claim_rejected': _('Claim rejected'),
    'claim_paid': _('Claim paid'),
    'claim_reminder': _('Reminder to claim'),
    # the ticket the grantee bought themselves (tickets/)
    'own_ticket_refunded': _('Own ticket: refunded'),
    'own_ticket_free': _('Own ticket: made free'),
    'own_ticket_kept': _('Own ticket: kept'),
}
PLACEHOLDER_CONTEXT = ['event', 'grant']
# The plugin's placeholders that have a value in each template (pretix's own, such as {event}, have one in all):
# a template offers and accepts only these, so nobody writes {voucher_code} into a mail sent before there is one.
AMOUNT_PLACEHOLDERS = {'granted_amounts', 'travel_amount', 'accommodation_amount', 'other_amount'}
MAIL_PLACEHOLDERS = {
    'received': {'name', 'reply_url'},
    'decision_approved': {'name', 'reply_url', 'reply_deadline', *AMOUNT_PLACEHOLDERS},
    'decision_waiting_list': {'name', 'reply_url'},
    'decision_rejected': {'name', 'reply_url'},
    'voucher': {'name', 'reply_url', 'voucher_code', 'redeem_url', *AMOUNT_PLACEHOLDERS},
    'reminder': {'name', 'reply_url', 'reply_deadline', *AMOUNT_PLACEHOLDERS},
    'expired': {'name', 'reply_url', 'reply_deadline', *AMOUNT_PLACEHOLDERS},
    'claim_submitted': {'name', 'reply_url', 'claim_url', 'claim_amount', *AMOUNT_PLACEHOLDERS},
    'claim_changes_requested': {'name', 'reply_url', 'claim_url', 'claim_amount', 'claim_message', 'claim_deadline',
                                *AMOUNT_PLACEHOLDERS},
    'claim_approved': {'name', 'reply_url', 'claim_url', 'claim_amount', 'claim_approved_amount', 'claim_message',
                       *AMOUNT_PLACEHOLDERS},
    'claim_rejected': {'name', 'reply_url', 'claim_url', 'claim_amount', 'claim_message', *AMOUNT_PLACEHOLDERS},
    'claim_paid': {'name', 'reply_url', 'claim_url', 'claim_amount', 'claim_approved_amount', *AMOUNT_PLACEHOLDERS},
    'claim_reminder': {'name', 'reply_url', 'claim_url', 'claim_deadline', *AMOUNT_PLACEHOLDERS},
    # tickets/: the ticket the grantee bought themselves (its own placeholders come from that package)
    'own_ticket_refunded': {'name', 'reply_url', 'own_ticket_order', 'own_ticket_refund', *AMOUNT_PLACEHOLDERS},
    'own_ticket_kept': {'name', 'reply_url', 'own_ticket_order', *AMOUNT_PLACEHOLDERS},
    'own_ticket_free': {'name', 'reply_url', 'own_ticket_order', *AMOUNT_PLACEHOLDERS},
}


def template_placeholders(event, key):
    """The placeholders template ``key`` may use, name to pretix placeholder, in pretix's order."""
    own = {p.identifier for p in [*mails.placeholders(), *claims.placeholders(), *tickets.placeholders()]}
    allowed = MAIL_PLACEHOLDERS.get(key, own)
    return {name: p for name, p in get_available_placeholders(event, list(PLACEHOLDER_CONTEXT)).items()
            if name not in own or name in allowed}


VOUCHER_FILTERS = (
    ('', pgettext_lazy('filter', 'All voucher states')),
    ('not_issued', _('not issued')),
    ('issued', _('issued')),
    ('upgraded', _('existing voucher upgraded')),
    ('needs_attention', _('needs attention')),
    ('ordered', _('used for an order')),
    ('holds_ticket', _('already holds a ticket')),
)
MAIL_FILTERS = (
    ('', pgettext_lazy('filter', 'All mail states')),
    ('queued', _('a mail is queued')),
    ('sent', _('all mails sent')),
    ('failed', _('a mail failed')),
)
ORDERINGS = ('name', 'email', 'status', 'decision', 'voucher_state', 'total', 'created', 'modified',
             # reviews.py: the review figures (blind where the user has not scored) and the requested amounts
             'requested_sum', 'review_count', 'review_mean', 'review_stddev', 'own_score')


class GrantFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=(('', pgettext_lazy('filter', 'All statuses')),)
                               + as_labels(Grant.STATUS_CHOICES))
    decision = forms.ChoiceField(required=False, choices=(
        ('', pgettext_lazy('filter', 'All staged decisions')), ('none', _('No staged decision')),
        ('any', _('Any staged decision')),
    ) + Grant.DECISION_CHOICES)
    voucher = forms.ChoiceField(required=False, choices=VOUCHER_FILTERS)
    mail = forms.ChoiceField(required=False, choices=MAIL_FILTERS)
    query = forms.CharField(required=False, widget=forms.TextInput(attrs={
        'placeholder': _('Search name or email'), 'autofocus': 'autofocus'}))
    ordering = forms.ChoiceField(required=False, widget=forms.HiddenInput, choices=[
        (o, o) for f in ORDERINGS for o in (f, '-' + f)])
    # blind review (reviews.py)
    review = forms.ChoiceField(required=False, choices=(
        ('', pgettext_lazy('filter', 'All review states')),
        ('mine_missing', _('Not yet reviewed by me')),
        ('mine_done', _('Reviewed by me')),
        ('disputed', _('High disagreement')),
    ))
    fewer_reviews = forms.IntegerField(required=False, min_value=1, max_value=1000, widget=forms.NumberInput(
        attrs={'placeholder': _('Fewer than … reviews')}), label=_('Fewer than … reviews'))


class GrantForm(forms.ModelForm):
    # the event's dates, set per form (a model form would query all events' dates at import)
    subevent = forms.ModelChoiceField(queryset=SubEvent.objects.none(), required=False,
                                      label=pgettext_lazy('subevent', 'Date'))

    class Meta:
        model = Grant
        fields = ('name', 'email', 'locale', 'subevent', 'ticket', 'travel_amount', 'accommodation_amount',
                  'other_amount', 'internal_note')
        widgets = {'internal_note': forms.Textarea(attrs={'rows': 3})}

    def __init__(self, *args, event, **kwargs):
        self.event = event
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        self.fields['locale'] = forms.ChoiceField(
            label=_('Language'), choices=[(lc, names.get(lc, lc)) for lc in event.settings.locales],
            initial=event.settings.locale,
        )
        if event.has_subevents:
            self.fields['subevent'].queryset = event.subevents.all()
        else:
            del self.fields['subevent']
        for f in ('travel_amount', 'accommodation_amount', 'other_amount'):
            self.fields[f].min_value = 0
            self.fields[f].widget.attrs['min'] = '0'

    def clean_email(self):
        email = self.cleaned_data['email'].strip()
        qs = Grant.objects.filter(event=self.event, email__iexact=email)
        if self.instance.pk:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise ValidationError(_('There already is a grant for this email address in this event.'))
        return email


class ActionForm(forms.Form):
    # not `action`: a form field of that name hides the form's own `action` property from pretix's scripts
    operation = forms.ChoiceField(choices=[(a, a) for a in (
        actions.STAGE, actions.PUBLISH, actions.CONFIRM, actions.REFUSE, actions.CANCEL, actions.ISSUE,
        actions.RESEND, actions.REMIND, actions.LINK)])
    decision = forms.ChoiceField(required=False, choices=(('', '---'),) + Grant.DECISION_CHOICES)
    reason = forms.CharField(required=False, max_length=1000)
    code = forms.CharField(required=False, max_length=255)


BULK_CHOICES = (
    ('stage', _('Stage a decision')),
    ('publish', _('Publish staged decisions (sends the decision mails)')),
    ('issue', _('Issue vouchers and email them (confirmed grants without one)')),
    ('resend', _('Send voucher mails again')),
    ('remind', _('Send reminders (grants awaiting a reply)')),
    ('cancel', _('Cancel')),
    ('approve_requested', _('Stage "approve" with the granted amounts set to the requested ones')),
    ('waitlist_rest', _('Stage "waiting list" for the rest (grants matching the filter that are not selected)')),
)


MAX_ID = 2 ** 63 - 1  # the largest primary key PostgreSQL's bigint holds


class BulkForm(forms.Form):
    operation = forms.ChoiceField(choices=BULK_CHOICES, label=_('Action'))
    decision = forms.ChoiceField(required=False, choices=(('', '---'),) + Grant.DECISION_CHOICES,
                                 label=_('Decision'))
    scope = forms.ChoiceField(choices=(('selected', _('Selected grants')), ('all', _('All grants matching the filter'))),
                              initial='selected')
    grant = forms.TypedMultipleChoiceField(coerce=int, required=False)
    filter = forms.CharField(required=False)
    run = forms.UUIDField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # any ids: the task reads them back inside the event only; but no number the database cannot hold
        self.fields['grant'].valid_value = lambda v: str(v).isascii() and str(v).isdigit() and int(v) <= MAX_ID

    def clean(self):
        d = super().clean()
        if d.get('operation') == 'stage' and not d.get('decision'):
            self.add_error('decision', _('Choose the decision to stage.'))
        if d.get('scope') == 'selected' and not d.get('grant') and d.get('operation') != 'waitlist_rest':
            raise ValidationError(_('Select at least one grant.'))
        return d


class GrantSettingsForm(SettingsForm):
    grants_voucher_item = forms.TypedChoiceField(
        label=_('Product'), coerce=int, empty_value=None, required=False,
        help_text=_('Grant vouchers give this product for free. Choose either a product or a quota.'),
    )
    grants_voucher_variation = forms.TypedChoiceField(
        label=_('Variation'), coerce=int, empty_value=None, required=False,
        help_text=_('Required if the product has variations.'),
    )
    grants_voucher_quota = forms.TypedChoiceField(
        label=_('Quota'), coerce=int, empty_value=None, required=False,
        help_text=_('Grant vouchers give any product of this quota for free.'),
    )
    grants_voucher_valid_until = RelativeDateTimeField(
        label=_('Vouchers valid until'), required=False,
        help_text=_('Empty: until the event ends.'),
    )
    grants_voucher_tag = forms.CharField(label=_('Voucher tag'), required=False, max_length=255)
    grants_voucher_block_quota = forms.BooleanField(
        label=_('Vouchers reserve quota'), required=False,
        help_text=_('A grantee\'s ticket is kept for them even if the event sells out.'),
    )
    # tickets/: a ticket the grantee bought themselves, and places held for applicants
    grants_own_ticket = forms.ChoiceField(
        label=_('Grantees who already bought a ticket'), required=False,
        choices=(('voucher', _('Issue a grant voucher anyway')),
                 ('refund', _('Refund their ticket through pretix (no voucher; the ticket stays valid)')),
                 ('keep', _('Keep their order as it is (no voucher, no refund)')),
                 ('ask', _('Ask the grantee on their reply page'))),
        help_text=_('Found by the order\'s or the attendee\'s email: a pending or paid order with the grant '
                    'product. A pending order is made free instead of refunded.'),
    )
    grants_hold_tickets = forms.ChoiceField(
        label=_('Hold a ticket for applicants'), required=False,
        choices=(('', _('No')), ('pending', _('From the application')),
                 ('approved', _('From the offer (approved, awaiting reply)'))),
        help_text=_('A voucher that blocks one place in the grant product\'s quota, as pretix holds one, until the '
                    'application ends without a ticket. Never more than the quota has.'),
    )
    grants_reply_days = forms.IntegerField(
        label=_('Days to reply'), min_value=1, max_value=365,
        help_text=_('The reply deadline of an offer, counted from the day the decision is published.'),
    )
    grants_budget = forms.DecimalField(
        label=_('Budget'), required=False, min_value=0, max_digits=13, decimal_places=2,
        help_text=_('The total of granted amounts (travel, accommodation, other) you can afford. Optional.'),
    )
    # lifecycle.py: reminders and waiting-list promotion (defaults in defaults.py)
    grants_reminder_days = forms.IntegerField(
        label=_('Reminder before the reply deadline (days)'), min_value=0, max_value=365,
        help_text=_('Grantees who have not answered an offer get one reminder this many days before its '
                    'reply deadline. 0: no reminders.'),
    )
    grants_promote_waiting_list = forms.BooleanField(
        label=_('Offer freed places to the waiting list automatically'), required=False,
        help_text=_('When an offer expires or a grantee refuses, the next grant on the waiting list (by rank, '
                    'then by application time) is offered the grant with a fresh reply deadline, as long as '
                    'the budget and the maximum number of offers allow it.'),
    )
    grants_max_offers = forms.IntegerField(
        label=_('Maximum number of offers'), min_value=0, required=False,
        help_text=_('Automatic offers stop while this many grants are offered or confirmed. Empty: no limit.'),
    )
    # retention.py
    grants_retention_days = forms.IntegerField(
        label=_('Keep sensitive personal data for (days)'), min_value=0, max_value=retention.MAX_DAYS,
        help_text=_('IBANs, payout details and receipts are erased this many days after the claim deadline, '
                    'passport data, dates of birth and invitation letters this many days after the event ends, '
                    'automatically. A claim that still waits for its decision or its payment keeps its payout '
                    'details until it is settled.'),
    )

    # decisions/: the allocation proposal's budgets per category, caps per grant, ranking and second round
    grants_budget_travel = forms.DecimalField(label=_('Budget for travel'), required=False, min_value=0, max_digits=13,
                                              decimal_places=2)
    grants_budget_accommodation = forms.DecimalField(label=_('Budget for accommodation'), required=False, min_value=0,
                                                     max_digits=13, decimal_places=2)
    grants_budget_other = forms.DecimalField(label=_('Budget for other costs'), required=False, min_value=0,
                                             max_digits=13, decimal_places=2)
    grants_cap_travel = forms.DecimalField(
        label=_('Travel cap per grant'), required=False, min_value=0, max_digits=13, decimal_places=2,
        help_text=_('The proposal offers at most this much for travel, e.g. 400.00 of 650.00 asked for. Empty: no cap.'))
    grants_cap_accommodation = forms.DecimalField(label=_('Accommodation cap per grant'), required=False, min_value=0,
                                                  max_digits=13, decimal_places=2)
    grants_cap_other = forms.DecimalField(label=_('Cap for other costs per grant'), required=False, min_value=0,
                                          max_digits=13, decimal_places=2)
    grants_ranking_basis = forms.ChoiceField(
        label=_('Rank by'), choices=(('raw', _('Mean score')), ('calibrated', _('Calibrated score'))),
        help_text=_('The calibrated score takes out each reviewer\'s own leniency or harshness.'))
    grants_tie_rule = forms.ChoiceField(
        label=_('Tied at the funding line'), choices=(
            ('overlap', _('Scores whose ranges overlap (mean ± standard error)')),
            ('equal', _('Equal scores as shown (two decimals)')),
        ),
        help_text=_('Who is ordered by lot at the line. Overlapping ranges take the reviewers\' disagreement into '
                    'account and tie more applicants, the more so with few reviews; equal scores tie only those the '
                    'ranking cannot order. Each draw records the rule it was made under.'))
    grants_second_round = forms.ChoiceField(
        label=_('Second round'), choices=(
            ('off', _('Off: freed places go to the waiting list as set above')),
            ('propose', _('Propose: stage offers for the next applicants, to be published by you')),
            ('auto', _('Automatic: offer the freed money to the next applicants at once')),
        ),
        help_text=_('When an offer is declined, expires or is cancelled, the freed money goes to the next applicants '
                    'on the waiting list in the order of the proposal, skipping who no longer fits.'))

    # applications.py: the application form in the shop (its extra questions: QuestionFormSet below)
    grants_applications_open = SplitDateTimeField(
        label=_('Applications open'), required=False, widget=SplitDateTimePickerWidget(),
        help_text=_('From then on, the front page of the shop links to the application form. Empty: no applications.'),
    )
    grants_applications_close = SplitDateTimeField(
        label=_('Applications close'), required=False, widget=SplitDateTimePickerWidget(),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = self.obj
        event = self.obj
        items = list(event.items.prefetch_related('variations'))
        self.fields['grants_voucher_item'].choices = [('', '---')] + [(i.pk, str(i.name)) for i in items]
        self.fields['grants_voucher_variation'].choices = [('', '---')] + [
            (v.pk, f'{i.name} – {v.value}') for i in items for v in i.variations.all()]
        self.fields['grants_voucher_quota'].choices = [('', '---')] + [
            (q.pk, str(q.name)) for q in event.quotas.filter(subevent__isnull=True)]
        for key in MAIL_TEMPLATES:
            placeholders = template_placeholders(event, key)
            for part, widget in (('subject', I18nTextInput), ('text', I18nTextarea)):
                fn = f'grants_mail_{key}_{part}'
                self.fields[fn] = I18nFormField(
                    label=_('Subject') if part == 'subject' else _('Text'),
                    required=True, widget=widget, locales=self.locales,
                    help_text=format_placeholders_help_text(placeholders, event) if part == 'text' else '',
                )
                self.fields[fn].validators.append(PlaceholderValidator(['{%s}' % p for p in placeholders]))

    def clean(self):
        d = super().clean()
        start, end = d.get('grants_applications_open'), d.get('grants_applications_close')
        if start and end and end <= start:
            self.add_error('grants_applications_close', _('Applications must close after they open.'))
        item, variation, quota = d.get('grants_voucher_item'), d.get('grants_voucher_variation'), \
            d.get('grants_voucher_quota')
        if item and quota:
            raise ValidationError(_('Choose either a product or a quota for grant vouchers, not both.'))
        if quota:
            d['grants_voucher_variation'] = None
        elif item:
            it = self.obj.items.get(pk=item)
            if variation and not it.variations.filter(pk=variation).exists():
                self.add_error('grants_voucher_variation', _('This variation does not belong to the product.'))
            elif it.has_variations and not variation:
                self.add_error('grants_voucher_variation', _('The product has variations: choose one.'))
            elif not it.has_variations:
                d['grants_voucher_variation'] = None
        elif variation:
            self.add_error('grants_voucher_item', _('Choose the product of the variation.'))
        return d


def _lines(value):
    return [line.strip() for line in (value or '').splitlines() if line.strip()]


class QuestionForm(forms.Form):
    """One extra question of the application form; stored in the JSON shape ``applications.parse_questions`` reads."""
    id = forms.CharField(required=False, widget=forms.HiddenInput)
    question = I18nFormField(label=_('Question'), required=False, widget=I18nTextInput)
    type = forms.ChoiceField(label=_('Type'), choices=QUESTION_TYPES, initial='text')
    required = forms.BooleanField(label=_('Required'), required=False,
                                  help_text=_('Applicants must answer it (for yes/no: tick it).'))
    choices = I18nFormField(
        label=_('Choices'), required=False, widget=I18nTextarea,
        help_text=_('For the type "Choice": one choice per line, in the same order in every language.'))

    def __init__(self, *args, locales, **kwargs):
        super().__init__(*args, **kwargs)
        for f in ('question', 'choices'):
            self.fields[f].widget.enabled_locales = locales
            self.fields[f].one_required = False
        self.fields['choices'].widget.attrs['rows'] = 3
        self.locales = locales

    def clean(self):
        d = super().clean()
        if self.cleaned_data.get('DELETE'):
            return d
        if not d.get('question') or not any(str(v).strip() for v in _i18n_dict(d['question']).values()):
            self.add_error('question', _('Please enter the question.'))
        if d.get('type') == 'choice':
            lines = {lc: _lines(v) for lc, v in _i18n_dict(d.get('choices')).items() if _lines(v)}
            counts = {len(v) for v in lines.values()}
            if not lines or min(counts) < 2:
                self.add_error('choices', _('A choice question needs at least two choices.'))
            elif len(counts) > 1:
                self.add_error('choices', _('Every language needs the same number of choices.'))
        return d

    def question_data(self):
        d = self.cleaned_data
        item = {'id': d.get('id') or '', 'type': d['type'], 'question': _i18n_value(d['question']),
                'required': bool(d.get('required'))}
        if d['type'] == 'choice':
            lines = {lc: _lines(v) for lc, v in _i18n_dict(d.get('choices')).items() if _lines(v)}
            n = len(next(iter(lines.values())))
            item['choices'] = [{lc: v[i] for lc, v in lines.items()} for i in range(n)]
        return item


def _i18n_dict(value):
    data = getattr(value, 'data', value)
    if isinstance(data, dict):
        return {lc: v for lc, v in data.items() if v}
    return {'': data} if data else {}


def _i18n_value(value):
    """A dict of the languages filled in; a plain string stays one."""
    data = _i18n_dict(value)
    return data[''] if '' in data else data


def question_initial(q):
    choices = q.get('choices') or []
    langs = {lc for c in choices if isinstance(c, dict) for lc in c}
    if all(isinstance(c, str) for c in choices):
        text = '\n'.join(choices)
    else:
        text = {lc: '\n'.join(c.get(lc, '') if isinstance(c, dict) else c for c in choices) for lc in langs}
    return {'id': q['id'], 'question': q['question'], 'type': q['type'], 'required': q.get('required', False),
            'choices': text}


def new_question_id(text, taken):
    base = slugify(str(text))[:30].replace('-', '_') or 'question'
    if not base.isidentifier():
        base = 'q_' + base
    qid, n = base, 1
    while qid in taken:
        n += 1
        qid = f'{base}_{n}'
    return qid


class BaseQuestionFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields['ORDER'].label = _('Position')
        form.fields['ORDER'].widget.attrs['min'] = '1'
        form.fields['DELETE'].label = _('Remove this question')

    def questions(self):
        """The questions in their new order, checked by ``applications.parse_questions`` as the shop reads them."""
        items = [f.question_data() for f in self.ordered_forms]
        taken = {q['id'] for q in items if q['id']}
        for q in items:
            if not q['id']:
                q['id'] = new_question_id(_i18n_dict(q['question']).get('en') or next(
                    iter(_i18n_dict(q['question']).values()), ''), taken)
                taken.add(q['id'])
        return parse_questions(items)

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        try:
            self.questions()
        except ValidationError as e:
            raise ValidationError(e.messages)


QuestionFormSet = forms.formset_factory(QuestionForm, formset=BaseQuestionFormSet, extra=1, can_order=True,
                                        can_delete=True, max_num=50, validate_max=True)


def question_formset(event, data=None):
    return QuestionFormSet(data=data, prefix='questions', form_kwargs={'locales': event.settings.locales},
                           initial=[question_initial(q) for q in event.settings.grants_application_questions or []])


class ReviewForm(forms.Form):
    score = forms.TypedChoiceField(label=_('Score'), coerce=int, widget=forms.RadioSelect,
                                   choices=[(n, str(n)) for n in reviews.SCORES],
                                   help_text=_('1: do not fund, 5: fund by all means.'))
    note = forms.CharField(label=_('Note'), required=False, max_length=5000, widget=forms.Textarea(attrs={'rows': 3}),
                           help_text=_('Other reviewers read it once they have scored this application.'))
