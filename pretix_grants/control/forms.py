from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from i18nfield.forms import I18nFormField, I18nTextarea, I18nTextInput
from pretix.base.forms import SettingsForm
from pretix.base.reldate import RelativeDateTimeField
from pretix.base.services.placeholders import FormPlaceholderMixin

from ..defaults import MAIL_TEMPLATES
from ..models import Grant
from . import actions

MAIL_LABELS = {
    'received': _('Application received'),
    'decision_approved': _('Decision: approved (offer)'),
    'decision_waiting_list': _('Decision: waiting list'),
    'decision_rejected': _('Decision: rejected'),
    'voucher': _('Voucher'),
    'reminder': _('Reminder to reply'),
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
ORDERINGS = ('name', 'email', 'status', 'decision', 'voucher_state', 'total', 'created', 'modified')


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


class GrantForm(forms.ModelForm):
    class Meta:
        model = Grant
        fields = ('name', 'email', 'locale', 'ticket', 'travel_amount', 'accommodation_amount', 'other_amount',
                  'internal_note')
        widgets = {'internal_note': forms.Textarea(attrs={'rows': 3})}

    def __init__(self, *args, event, **kwargs):
        self.event = event
        super().__init__(*args, **kwargs)
        from django.conf import settings

        names = dict(settings.LANGUAGES)
        self.fields['locale'] = forms.ChoiceField(
            label=_('Language'), choices=[(lc, names.get(lc, lc)) for lc in event.settings.locales],
            initial=event.settings.locale,
        )
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
        if d.get('scope') == 'selected' and not d.get('grant'):
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

    def clean(self):
        d = super().clean()
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
