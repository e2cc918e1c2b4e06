"""
Speakers from pretalx in the control panel: the connection and the voucher rules (with the speaker mail), the
"Test connection" and "Sync now" buttons, the last sync and the last error, and the speakers with their vouchers.
All of it needs the plugin's manage permission: the page shows the speakers' e-mail addresses.
"""
import re

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _, ngettext
from django.views import View
from i18nfield.forms import I18nFormField, I18nTextarea, I18nTextInput
from pretix.base.forms import SettingsForm
from pretix.base.models import OrderPosition
from pretix.control.views.event import EventSettingsFormView

from ..base.pages import PluginPageMixin
from ..defaults import SPEAKER_MAIL_TEMPLATES
from ..models import TICKET_VALID, Speaker
from ..permissions import MANAGE
from . import rules

STATES = (('accepted', _('Accepted')), ('confirmed', _('Confirmed')))
CO_MODES = ((rules.CO_FREE, _('A free ticket')), (rules.CO_PERCENT, _('A discount in percent')),
            (rules.CO_AMOUNT, _('A discount of a fixed amount')))


def speakers_url(event):
    return reverse('plugins:pretix_grants:control.speakers', kwargs={
        'organizer': event.organizer.slug, 'event': event.slug})


class SpeakerSettingsForm(SettingsForm):
    grants_pretalx_url = forms.URLField(
        label=_('pretalx URL'), required=False, max_length=200, assume_scheme='https',
        help_text=_('The address of the pretalx instance, e.g. https://pretalx.com'))
    grants_pretalx_event = forms.SlugField(label=_('pretalx event slug'), required=False, max_length=100)
    grants_pretalx_token = forms.CharField(
        label=_('pretalx API token'), required=False, max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={'autocomplete': 'new-password'}),
        help_text=_('A token of a pretalx user in a team that may change proposals, with read access to '
                    '"submissions" and "speakers". Leave empty to keep the saved token.'))
    grants_pretalx_states = forms.MultipleChoiceField(
        label=_('Talks in these states'), choices=STATES, widget=forms.CheckboxSelectMultiple, required=True)
    grants_speakers_co_mode = forms.ChoiceField(label=_('Further speakers of a talk get'), choices=CO_MODES)
    grants_speakers_co_value = forms.DecimalField(
        label=_('Discount for further speakers'), required=False, min_value=0, max_digits=13, decimal_places=2,
        help_text=_('In percent or in the event\'s currency, as chosen above.'))
    grants_speakers_item = forms.ChoiceField(
        label=_('Product of the speaker vouchers'), required=False,
        help_text=_('Empty: the product of the grant vouchers.'))
    grants_speakers_auto_sync = forms.BooleanField(
        label=_('Sync automatically every 15 minutes'), required=False)
    grants_speakers_support_travel = forms.DecimalField(
        label=_('Travel support per speaker'), required=False, min_value=0, max_digits=13, decimal_places=2,
        help_text=_('What a travel grant offered to a speaker asks for, in the event\'s currency; you decide it '
                    'and can change it like any other grant.'))
    grants_speakers_support_accommodation = forms.DecimalField(
        label=_('Accommodation support per speaker'), required=False, min_value=0, max_digits=13, decimal_places=2)
    grants_speakers_support_question = forms.IntegerField(
        label=_('pretalx question "needs travel support"'), required=False, min_value=1, max_value=2 ** 31 - 1,
        help_text=_('The number of a yes/no speaker question of the pretalx event (in pretalx: Call for '
                    'Speakers, Questions; the number is in its address). Each sync offers travel support to the '
                    'speakers who answered "yes". Empty: only by the button below the speakers list.'))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        event = self.obj
        self.fields['grants_speakers_item'].choices = [('', '---------')] + [
            (str(i.pk), str(i.name)) for i in event.items.all()]
        for key in SPEAKER_MAIL_TEMPLATES:
            for part, widget in (('subject', I18nTextInput), ('text', I18nTextarea)):
                self.fields[f'grants_mail_{key}_{part}'] = I18nFormField(
                    label=_('Mail subject') if part == 'subject' else _('Mail text'), widget=widget,
                    locales=self.locales, required=True,
                    help_text=_('Placeholders: {placeholders}').format(
                        placeholders='{event}, {name}, {talks}, {voucher}, {redeem_url}'))

    def clean_grants_pretalx_token(self):
        return self.cleaned_data.get('grants_pretalx_token') or self.obj.settings.grants_pretalx_token

    def clean_grants_speakers_item(self):
        value = self.cleaned_data.get('grants_speakers_item')
        return int(value) if value else None

    def clean(self):
        data = super().clean()
        if data.get('grants_speakers_co_mode') == rules.CO_PERCENT and (data.get('grants_speakers_co_value') or 0) > 100:
            self.add_error('grants_speakers_co_value', _('A discount in percent is at most 100.'))
        return data


class SpeakerSettings(PluginPageMixin, EventSettingsFormView):
    permission = MANAGE
    form_class = SpeakerSettingsForm
    template_name = 'pretix_grants/control/speakers.html'

    def get_success_url(self):
        return speakers_url(self.request.event)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        s = event.settings
        speakers = list(Speaker.objects.filter(event=event).select_related('voucher'))
        used = set(OrderPosition.objects.filter(
            voucher__in=[sp.voucher_id for sp in speakers if sp.voucher_id], order__status__in=TICKET_VALID,
        ).values_list('voucher_id', flat=True))
        grants = rules.support_grants(event, speakers)
        ctx['speakers'] = [(sp, sp.voucher_id in used, grants.get(sp.pk)) for sp in speakers]
        ctx['last_sync'] = s.get('grants_pretalx_last_sync', as_type=None)
        ctx['last_error'] = s.grants_pretalx_last_error
        ctx['token_saved'] = bool(s.grants_pretalx_token)
        return ctx


class SpeakerAction(PluginPageMixin, View):
    """The page's buttons: test the connection, sync now, offer travel support to the chosen speakers."""
    permission = MANAGE

    def post(self, request, *args, **kwargs):
        event = request.event
        if request.POST.get('do') == 'test':
            ok, message = rules.test_connection(event)
            (messages.success if ok else messages.error)(request, message)
        elif request.POST.get('do') == 'sync':
            ok, result = rules.sync(event, user=request.user)
            if ok:
                messages.success(request, _('Sync done: {issued} vouchers issued, {upgraded} upgraded, {released} '
                                            'released, {unchanged} speakers unchanged, {no_email} without e-mail.'
                                            ).format(**result))
            else:
                messages.error(request, _('The sync failed and changed nothing: {error}').format(error=result))
            if ok and result.get('support'):
                messages.success(request, ngettext(
                    'Travel support offered to {n} speaker who asked for it in pretalx.',
                    'Travel support offered to {n} speakers who asked for it in pretalx.', result['support'],
                ).format(n=result['support']))
            if ok and result.get('support_error'):
                messages.warning(request, result['support_error'])
        elif request.POST.get('do') == 'support':
            chosen = [int(pk) for pk in request.POST.getlist('speaker') if re.fullmatch(r'[0-9]{1,11}', pk)]
            if not chosen:
                messages.error(request, _('Choose the speakers to offer travel support to.'))
            else:
                counts = rules.offer_support(event, Speaker.objects.filter(event=event, pk__in=chosen),
                                             user=request.user)
                n = counts
                parts = [ngettext('{n} travel grant created.', '{n} travel grants created.',
                                  n['created']).format(n=n['created'])]
                if n['existing']:
                    parts.append(ngettext('{n} speaker already had a grant.', '{n} speakers already had a grant.',
                                          n['existing']).format(n=n['existing']))
                if n['not_speaker']:
                    parts.append(ngettext('{n} has no talk in the chosen states.',
                                          '{n} have no talk in the chosen states.',
                                          n['not_speaker']).format(n=n['not_speaker']))
                if n['no_email']:
                    parts.append(ngettext('{n} has no e-mail address.', '{n} have no e-mail address.',
                                          n['no_email']).format(n=n['no_email']))
                (messages.success if counts['created'] else messages.warning)(request, ' '.join(parts))
        return redirect(speakers_url(event))
