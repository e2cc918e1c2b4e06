"""
Visa invitation letters in the control panel (letters/rules.py): the queue of requests, one request's data with a preview
of its PDF, approve / reject / withdraw, bulk approval, data corrections, the settings, and the export.

Every view needs the plugin's view permission on the event, every change its manage permission: a team of another
organizer gets pretix's 404, a team without the permission a 403.
"""
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from django.views import View
from django.views.generic import FormView, ListView, TemplateView
from i18nfield.forms import I18nFormField, I18nTextarea, I18nTextInput
from pretix.base.exporter import ListExporter
from pretix.base.forms import SettingsForm
from pretix.base.i18n import language
from pretix.base.models import LogEntry
from pretix.control.forms import ExtFileField
from pretix.control.views import PaginationMixin
from pretix.control.views.event import EventSettingsFormView
from pretix.helpers.format import format_map
from pretix.multidomain.urlreverse import eventreverse_absolute

from .. import mails
from ..base.pages import PluginPageMixin
from ..defaults import LETTER_MAIL_TEMPLATES
from ..models import LetterRequest, as_labels
from ..permissions import MANAGE, PERSONAL
from ..spreadsheets import clean_rows
from . import rules as letters
from .forms import LetterForm

KINDS = (('', _('Grantees and ticket holders')), ('grant', _('Grantees')), ('order', _('Ticket holders')))
MAIL_LABELS = {
    'letter_requested': _('Request received'),
    'letter_approved': _('Letter issued (the PDF is attached)'),
    'letter_rejected': _('Request rejected'),
    'letter_cancelled': _('Letter withdrawn'),
}


def letter_url(event, name, **kwargs):
    return reverse(f'plugins:pretix_grants:control.{name}', kwargs={
        'organizer': event.organizer.slug, 'event': event.slug, **kwargs})


class LetterFilterForm(forms.Form):
    status = forms.ChoiceField(label=_('Status'), required=False,
                               choices=(('', _('All states')), *as_labels(LetterRequest.STATUS_CHOICES)))
    kind = forms.ChoiceField(label=_('Requested by'), required=False, choices=KINDS)
    query = forms.CharField(label=_('Search'), required=False,
                            widget=forms.TextInput(attrs={'placeholder': _('Name, email or reference')}))


def filtered_letters(event, data):
    form = LetterFilterForm(data=data)
    form.is_valid()
    fd = form.cleaned_data if form.is_bound else {}
    qs = LetterRequest.objects.filter(event=event).select_related('grant', 'order')
    if fd.get('status'):
        qs = qs.filter(status=fd['status'])
    if fd.get('kind') == 'grant':
        qs = qs.filter(grant__isnull=False)
    elif fd.get('kind') == 'order':
        qs = qs.filter(order__isnull=False)
    if fd.get('query'):
        q = fd['query'].strip()
        qs = qs.filter(Q(full_name__icontains=q) | Q(email__icontains=q) | Q(reference__icontains=q))
    return form, qs.order_by('-created', '-pk')


class SingleLetterMixin(PluginPageMixin):
    @cached_property
    def letter(self):
        try:
            return LetterRequest.objects.select_related('grant', 'order').get(
                event=self.request.event, pk=self.kwargs['letter'])
        except LetterRequest.DoesNotExist:
            raise Http404(_('This letter request does not exist.'))

    def detail_url(self):
        return letter_url(self.request.event, 'letter', letter=self.letter.pk)


class LetterList(PluginPageMixin, PaginationMixin, ListView):
    template_name = 'pretix_grants/control/letters/list.html'
    context_object_name = 'letters'

    def get_queryset(self):
        self.filter_form, qs = filtered_letters(self.request.event, self.request.GET)
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['filter_form'] = self.filter_form
        ctx['bulk_url'] = letter_url(self.request.event, 'letters.bulk')
        ctx['settings_url'] = letter_url(self.request.event, 'letters.settings')
        return ctx


class LetterDetail(SingleLetterMixin, TemplateView):
    template_name = 'pretix_grants/control/letters/detail.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        letter = self.letter
        ctx.update({
            'letter': letter,
            'can_approve': letters.allowed(letter, letters.APPROVED),
            'can_reject': letters.allowed(letter, letters.REJECTED),
            'can_withdraw': letters.allowed(letter, letters.CANCELLED),
            'verify_url': letters.verify_url(letter),
            'page_url': letters.page_url(letter),
            'action_url': letter_url(self.request.event, 'letter.action', letter=letter.pk),
            'edit_url': letter_url(self.request.event, 'letter.edit', letter=letter.pk),
            'pdf_url': letter_url(self.request.event, 'letter.pdf', letter=letter.pk),
            'grant_url': letter_url(self.request.event, 'detail', grant=letter.grant_id) if letter.grant_id else None,
            'order_url': reverse('control:event.order', kwargs={
                'organizer': self.request.event.organizer.slug, 'event': self.request.event.slug,
                'code': letter.order.code}) if letter.order_id else None,
            'logs': LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(LetterRequest), object_id=letter.pk,
                event=self.request.event,
            ).select_related('user', 'content_type', 'api_token').order_by('-datetime', '-pk'),
        })
        return ctx


class LetterAction(SingleLetterMixin, View):
    """Approve, reject or withdraw, from the detail page's buttons; ``letters`` has the last word."""
    permission = MANAGE

    def post(self, request, *args, **kwargs):
        todo = request.POST.get('do')
        reason = request.POST.get('reason', '').strip()
        if len(reason) > 2000:
            messages.error(request, _('Please give a reason of at most {n} characters.').format(n=2000))
            return redirect(self.detail_url())
        try:
            if todo == 'approve':
                letters.approve(self.letter, user=request.user)
                messages.success(request, _('The letter has been issued and sent to the requester.'))
            elif todo == 'reject':
                letters.reject(self.letter, reason, user=request.user)
                messages.success(request, _('The request has been rejected.'))
            elif todo == 'withdraw':
                letters.withdraw(self.letter, reason, user=request.user)
                messages.success(request, _('The letter has been withdrawn; its verification page says so.'))
            else:
                messages.error(request, _('Unknown action.'))
        except letters.LetterError as e:
            messages.error(request, str(e))
        return redirect(self.detail_url())


class LetterEdit(SingleLetterMixin, FormView):
    """Correct the requester's data; an issued letter is issued again and sent once more."""
    permission = MANAGE
    also_required = (PERSONAL,)
    template_name = 'pretix_grants/control/letters/edit.html'

    def get_form(self, form_class=None):
        return LetterForm(data=self.request.POST if self.request.method == 'POST' else None, instance=self.letter,
                          event=self.request.event)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['letter'] = self.letter
        ctx['detail_url'] = self.detail_url()
        return ctx

    def form_valid(self, form):
        data = {f: form.cleaned_data[f] for f in letters.DATA_FIELDS}
        # the form has written the values onto the instance; ``correct`` compares with the stored row
        self.letter.refresh_from_db()
        letters.correct(self.letter, data, user=self.request.user)
        messages.success(self.request, _('Your changes have been saved.'))
        return redirect(self.detail_url())

    def form_invalid(self, form):
        messages.error(self.request, _('We could not save your changes. See below for details.'))
        return super().form_invalid(form)


class LetterPdf(SingleLetterMixin, View):
    """The issued PDF, or for a request not issued (yet) a preview rendered now and not stored."""
    permission = PERSONAL

    def get(self, request, *args, **kwargs):
        letter = self.letter
        if letter.shredded:
            raise Http404(_('The data of this letter have been removed.'))
        content = letters.pdf_content(letter) or letters.render(letter)
        response = HttpResponse(content, content_type='application/pdf')
        response['Content-Disposition'] = f'inline; filename="{letters.filename(letter)}"'
        response['Cache-Control'] = 'private, no-store'
        return response


class LetterBulkApprove(PluginPageMixin, View):
    """Issue the letters of the selected requests; those no longer waiting are passed by."""
    permission = MANAGE

    def post(self, request, *args, **kwargs):
        ids = [int(i) for i in request.POST.getlist('letter') if i.isdigit()]
        done, skipped = 0, 0
        for letter in LetterRequest.objects.filter(event=request.event, pk__in=ids).order_by('pk'):
            try:
                letters.approve(letter, user=request.user)
                done += 1
            except letters.LetterError:
                skipped += 1
        if done:
            messages.success(request, _('{count} letters have been issued.').format(count=done))
        if skipped:
            messages.warning(request, _('{count} requests were not waiting for approval and have not been changed.')
                             .format(count=skipped))
        if not done and not skipped:
            messages.error(request, _('Please select the requests to approve.'))
        return redirect(letter_url(request.event, 'letters'))


class LetterSettingsForm(SettingsForm):
    grants_letters_grantees = forms.BooleanField(
        label=_('Grantees can request a letter'), required=False,
        help_text=_('On their grant page, unless their grant has been rejected or cancelled.'),
    )
    grants_letters_ticket_holders = forms.BooleanField(
        label=_('Ticket holders can request a letter'), required=False,
        help_text=_('On their order page in the shop, for paid and pending orders.'),
    )
    grants_letters_auto_approve = forms.BooleanField(
        label=_('Issue letters to confirmed grantees at once'), required=False,
    )
    grants_letter_text = I18nFormField(
        label=_('Text of the letter'), widget=I18nTextarea, required=True,
        help_text=_('Separate paragraphs with an empty line. Placeholders: {placeholders}').format(placeholders=', '.join(
            '{' + p + '}' for p in ('name', 'nationality', 'passport_number', 'passport_expiry', 'date_of_birth',
                                    'address', 'event', 'event_dates', 'venue', 'grant_coverage', 'ticket', 'travel_amount',
                                    'accommodation_amount', 'reference', 'signatory_name', 'signatory_role'))),
    )
    grants_letter_signatory_name = forms.CharField(label=_('Signed by'), required=False, max_length=200)
    # in each of the event's languages, as the letter's text: a German letter names the role in German
    grants_letter_signatory_role = I18nFormField(label=pgettext_lazy('letter', 'Role of the signatory'),
                                                 required=False, max_length=200, widget=I18nTextInput)
    grants_letter_contact = I18nFormField(
        label=_('Contact block'), required=False, widget=I18nTextarea, max_length=1000,
        help_text=_('Printed at the top right of the letter: your organization\'s address, email, website.'),
    )
    grants_letter_logo = ExtFileField(
        label=_('Letterhead logo'), required=False, ext_whitelist=settings.FILE_UPLOAD_EXTENSIONS_IMAGE,
        max_size=settings.FILE_UPLOAD_MAX_SIZE_IMAGE,
        help_text=_('A PNG or JPEG image. Empty: the event\'s logo from the shop settings.'),
    )
    grants_letter_signature = ExtFileField(
        label=_('Signature'), required=False, ext_whitelist=settings.FILE_UPLOAD_EXTENSIONS_IMAGE,
        max_size=settings.FILE_UPLOAD_MAX_SIZE_IMAGE, help_text=_('A PNG or JPEG image of the signature.'),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locales = self.locales
        for key in LETTER_MAIL_TEMPLATES:
            for part, widget in (('subject', I18nTextInput), ('text', I18nTextarea)):
                fn = f'grants_mail_{key}_{part}'
                self.fields[fn] = I18nFormField(
                    label=f'{MAIL_LABELS[key]}: ' + str(_('Subject') if part == 'subject' else _('Text')),
                    widget=widget, required=True, locales=locales,
                    help_text=_('Placeholders: {placeholders}').format(
                        placeholders='{name}, {event}, {reference}, {letter_url}, {reason}') if part == 'text' else '',
                )


class LetterSettings(PluginPageMixin, EventSettingsFormView):
    permission = MANAGE
    form_class = LetterSettingsForm
    template_name = 'pretix_grants/control/letters/settings.html'

    def get_success_url(self):
        return letter_url(self.request.event, 'letters.settings')

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        form = ctx['form']
        ctx['mail_fields'] = [(MAIL_LABELS[k], form[f'grants_mail_{k}_subject'], form[f'grants_mail_{k}_text'], k)
                              for k in LETTER_MAIL_TEMPLATES]
        ctx['locales'] = [(lc, dict(settings.LANGUAGES).get(lc, lc)) for lc in self.request.event.settings.locales]
        return ctx


class LetterTemplatePreview(PluginPageMixin, TemplateView):
    """A letter mail's saved template with sample values, as the grant mails' preview shows theirs."""
    permission = MANAGE
    template_name = 'pretix_grants/control/preview.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        key = self.kwargs['key']
        if key not in LETTER_MAIL_TEMPLATES:
            raise Http404()
        event = self.request.event
        lc = self.request.GET.get('locale')
        if lc not in event.settings.locales:
            lc = event.settings.locale
        subject, text = mails.template(event, key)
        with language(lc, event.settings.region):
            page = eventreverse_absolute(event, 'plugins:pretix_grants:letter.grant', kwargs={'secret': 'sample'})
            sample = {'event': str(event.name), 'name': str(_('Jane Doe')), 'reference': 'ABCD-EFGH-JKLM-NPQR',
                      'letter_url': page, 'reason': str(_('A reason the organizers give.'))}
            ctx['subject'], ctx['text'] = format_map(str(subject), sample), format_map(str(text), sample)
        ctx.update({'key': key, 'label': MAIL_LABELS[key], 'locale': lc,
                    'locale_name': dict(settings.LANGUAGES).get(lc, lc),
                    'back_url': letter_url(event, 'letters.settings')})
        return ctx


class LetterExporter(ListExporter):
    """The organizers' own list of requests: the one export that holds the passport data."""
    identifier = 'pretix_grants_letters'
    verbose_name = _('Visa invitation letters')
    category = pgettext_lazy('export_category', 'Grants')
    description = _('Download a spreadsheet of all requests for invitation letters with the requesters\' data.')

    @classmethod
    def get_required_event_permission(cls):
        return PERSONAL

    @clean_rows
    def iterate_list(self, form_data):
        yield [
            _('Reference'), _('Status'), _('Requested by'), _('Email'), _('Full name as in the passport'),
            _('Nationality'), _('Passport number'), _('Passport expiry date'), _('Date of birth'), _('Postal address'),
            _('Consulate or embassy'), _('Requested'), _('Issued'), _('Reason'),
        ]
        tz = self.event.timezone
        fmt = '%Y-%m-%d %H:%M:%S'
        for r in LetterRequest.objects.filter(event=self.event).select_related('grant', 'order').order_by('created', 'pk'):
            yield [
                r.reference, r.get_status_display(),
                (_('Grant') if r.grant_id else _('Order {code}').format(code=r.order.code)), r.email, r.full_name,
                r.nationality.name if r.nationality else '', r.passport_number,
                r.passport_expiry.isoformat() if r.passport_expiry else '',
                r.date_of_birth.isoformat() if r.date_of_birth else '', r.address, r.consulate,
                r.created.astimezone(tz).strftime(fmt), r.issued_at.astimezone(tz).strftime(fmt) if r.issued_at else '',
                r.reason,
            ]

    def get_filename(self):
        return f'{self.event.slug}_letters'
