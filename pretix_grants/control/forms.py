from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from i18nfield.forms import I18nFormField, I18nTextarea, I18nTextInput
from pretix.base.forms import SettingsForm
from pretix.base.forms.widgets import SplitDateTimePickerWidget
from pretix.base.models import SubEvent
from pretix.base.reldate import RelativeDateTimeField
from pretix.base.services.placeholders import FormPlaceholderMixin
from pretix.control.forms import SplitDateTimeField

from ..applications import parse_questions
from ..defaults import MAIL_TEMPLATES
from ..lifecycle import LIFECYCLE_SETTINGS
from ..models import Grant
from . import actions

MAIL_LABELS = {
    'received': _('Application received'),
    'decision_approved': _('Decision: approved (offer)'),
    'decision_waiting_list': _('Decision: waiting list'),
    'decision_rejected': _('Decision: rejected'),
    'voucher': _('Voucher'),
    'reminder': _('Reminder to reply'),
    'expired': _('Offer expired'),
}
PLACEHOLDER_CONTEXT = ['event', 'grant']

VOUCHER_FILTERS = (
    ('', pgettext_lazy('filter', 'All voucher states')),
    ('not_issued', _('not issued')),
    ('issued', _('issued')),
    ('upgraded', _('existing voucher upgraded')),
    ('needs_attention', _('needs attention')),
    ('ordered', _('used for an order')),
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
                               + Grant.STATUS_CHOICES)
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
    action = forms.ChoiceField(choices=[(a, a) for a in (
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
    action = forms.ChoiceField(choices=BULK_CHOICES, label=_('Action'))
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
        if d.get('action') == 'stage' and not d.get('decision'):
            self.add_error('decision', _('Choose the decision to stage.'))
        if d.get('scope') == 'selected' and not d.get('grant') and d.get('action') != 'waitlist_rest':
            raise ValidationError(_('Select at least one grant.'))
        return d


class GrantSettingsForm(FormPlaceholderMixin, SettingsForm):
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
    grants_reply_days = forms.IntegerField(
        label=_('Days to reply'), min_value=1, max_value=365,
        help_text=_('The reply deadline of an offer, counted from the day the decision is published.'),
    )
    grants_budget = forms.DecimalField(
        label=_('Budget'), required=False, min_value=0, max_digits=13, decimal_places=2,
        help_text=_('The total of granted amounts (travel, accommodation, other) you can afford. Optional.'),
    )
    # lifecycle.py: reminders and waiting-list promotion
    grants_reminder_days = forms.IntegerField(
        label=LIFECYCLE_SETTINGS['grants_reminder_days']['label'], min_value=0, max_value=365,
        help_text=LIFECYCLE_SETTINGS['grants_reminder_days']['help_text'],
    )
    grants_promote_waiting_list = forms.BooleanField(
        label=LIFECYCLE_SETTINGS['grants_promote_waiting_list']['label'], required=False,
        help_text=LIFECYCLE_SETTINGS['grants_promote_waiting_list']['help_text'],
    )
    grants_max_offers = forms.IntegerField(
        label=LIFECYCLE_SETTINGS['grants_max_offers']['label'], min_value=0, required=False,
        help_text=LIFECYCLE_SETTINGS['grants_max_offers']['help_text'],
    )

    # applications.py: the application form in the shop
    grants_applications_open = SplitDateTimeField(
        label=_('Applications open'), required=False, widget=SplitDateTimePickerWidget(),
        help_text=_('From then on, the front page of the shop links to the application form. Empty: no applications.'),
    )
    grants_applications_close = SplitDateTimeField(
        label=_('Applications close'), required=False, widget=SplitDateTimePickerWidget(),
    )
    grants_application_questions = forms.JSONField(
        label=_('Extra questions'), required=False, widget=forms.Textarea(attrs={'rows': 6, 'class': 'monospace'}),
        help_text=_('A JSON list, e.g. [{"id": "diet", "type": "text", "question": {"en": "Dietary needs?", '
                    '"de": "Ernährung?"}, "required": false}, {"id": "first", "type": "boolean", "question": '
                    '"First conference?", "required": true}, {"id": "role", "type": "choice", "question": "Role", '
                    '"choices": ["Student", "Speaker"]}]. Types: text, choice, boolean (yes/no).'),
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
            for part, widget in (('subject', I18nTextInput), ('text', I18nTextarea)):
                fn = f'grants_mail_{key}_{part}'
                self.fields[fn] = I18nFormField(
                    label=MAIL_LABELS.get(key, key) if part == 'subject' else _('Text'),
                    required=True, widget=widget, locales=self.locales,
                )
                if part == 'subject':
                    self.fields[fn].help_text = ''
                self._set_field_placeholders(fn, list(PLACEHOLDER_CONTEXT))

    def clean_grants_application_questions(self):
        return parse_questions(self.cleaned_data.get('grants_application_questions') or [])

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
