"""
Applying for a grant in the event's shop: the form, its extra questions, the open/close dates and flood control.

An application becomes a ``pending`` grant through ``workflow.create_grant``, which sends the application-received
mail with the link to the applicant's own page. Nothing personal ever goes into a URL: the form posts, and the
thank-you page says only that a mail is on its way.
"""
import json
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from django.views.generic import FormView, TemplateView
from i18nfield.strings import LazyI18nString
from pretix.helpers.http import get_client_ip
from pretix.helpers.ratelimit import _get_key, rate_limit
from pretix.multidomain.urlreverse import eventreverse
from pretix.presale.views import EventViewMixin

from . import mails, workflow

# Applications per visitor (IP address) and event within the window, and how often one address may ask for its
# link again.
MAX_APPLICATIONS = 10
WINDOW_SECONDS = 3600
RESEND_SECONDS = 600

QUESTION_TYPES = (
    ('text', _('Text')),
    ('choice', _('Choice')),
    ('boolean', _('Yes/no')),
)
AMOUNT_FIELDS = ('requested_travel', 'requested_accommodation', 'requested_other')


def setting_datetime(event, key):
    value = event.settings.get(key)
    # hierarkey hands out the stored string where its type check does not recognise ``datetime`` (e.g. under freezegun)
    return parse_datetime(value) if isinstance(value, str) else value


def applications_open(event, at=None):
    """Applications are open between the two dates of the settings; without an opening date they are closed."""
    at = at or now()
    start, end = setting_datetime(event, 'grants_applications_open'), setting_datetime(event, 'grants_applications_close')
    return bool(start) and start <= at and (not end or at < end)


# --- the organizer's extra questions, stored as the event setting ``grants_application_questions`` (JSON) ---

def questions(event):
    return parse_questions(event.settings.grants_application_questions or [])


def parse_questions(data):
    """
    Check the questions' JSON and return it in normal form. Raises ``ValidationError`` saying what is wrong.

    A question: ``{"id": "diet", "type": "text" | "choice" | "boolean", "question": {"en": "…", "de": "…"},
    "required": true, "choices": [{"en": "…"}, …]}`` (choices only for "choice"; texts may be plain strings).
    """
    if isinstance(data, str):
        if not data.strip():
            return []
        try:
            data = json.loads(data)
        except ValueError as e:
            raise ValidationError(_('This is not valid JSON: {error}').format(error=e))
    if not isinstance(data, list):
        raise ValidationError(_('The questions must be a list.'))
    result, ids = [], set()
    types = {t for t, label in QUESTION_TYPES}
    for n, q in enumerate(data, start=1):
        if not isinstance(q, dict):
            raise ValidationError(_('Question {n} is not an object.').format(n=n))
        qid = str(q.get('id') or '').strip()
        if not qid.isidentifier() or qid in ids:
            raise ValidationError(_('Question {n} needs an id of its own (letters, digits and _).').format(n=n))
        ids.add(qid)
        if q.get('type') not in types:
            raise ValidationError(_('Question {n}: the type must be one of {types}.').format(
                n=n, types=', '.join(sorted(types))))
        if not _text_ok(q.get('question')):
            raise ValidationError(_('Question {n} has no text.').format(n=n))
        item = {'id': qid, 'type': q['type'], 'question': q['question'], 'required': bool(q.get('required'))}
        if q['type'] == 'choice':
            choices = q.get('choices')
            if not isinstance(choices, list) or len(choices) < 2 or not all(_text_ok(c) for c in choices):
                raise ValidationError(_('Question {n} needs at least two choices.').format(n=n))
            item['choices'] = choices
        result.append(item)
    return result


def _text_ok(value):
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, dict) and bool(value) and all(isinstance(v, str) for v in value.values()) \
        and any(v.strip() for v in value.values())


def answer_display(event, grant):
    """(question, answer) pairs in the current language, for organizers."""
    rows = []
    for q in questions(event):
        if q['id'] not in (grant.answers or {}):
            continue
        value = grant.answers[q['id']]
        if q['type'] == 'boolean':
            value = _('Yes') if value else _('No')
        elif q['type'] == 'choice':
            try:
                value = str(LazyI18nString(q['choices'][int(value)]))
            except (ValueError, IndexError, TypeError):
                pass
        rows.append((str(LazyI18nString(q['question'])), value))
    return rows


# --- the form ---

class ApplicationForm(forms.Form):
    name = forms.CharField(label=_('Your name'), max_length=255)
    email = forms.EmailField(label=_('Your email address'), max_length=254,
                             help_text=_('We send the link to your application here.'))
    locale = forms.ChoiceField(label=_('Language for our emails'))
    motivation = forms.CharField(
        label=_('Why do you want to attend?'), max_length=5000,
        widget=forms.Textarea(attrs={'rows': 5}),
    )
    requested_ticket = forms.BooleanField(label=_('A free ticket'), required=False, initial=True)
    requested_travel = forms.DecimalField(label=_('Travel'), required=False, min_value=Decimal('0.00'),
                                          max_digits=13, decimal_places=2)
    requested_accommodation = forms.DecimalField(label=_('Accommodation'), required=False,
                                                 min_value=Decimal('0.00'), max_digits=13, decimal_places=2)
    requested_other = forms.DecimalField(label=_('Other costs'), required=False, min_value=Decimal('0.00'),
                                         max_digits=13, decimal_places=2)
    justification = forms.CharField(
        label=_('What are the amounts for?'), required=False, max_length=2000,
        widget=forms.Textarea(attrs={'rows': 3}),
        help_text=_('A few words, e.g. "train from Lyon and back, three nights in a hostel".'),
    )

    def __init__(self, *args, event, **kwargs):
        self.event = event
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        self.fields['locale'].choices = [(lc, names.get(lc, lc)) for lc in event.settings.locales]
        self.fields['locale'].initial = event.settings.locale
        for f in AMOUNT_FIELDS:
            self.fields[f].widget.attrs.update({'min': '0', 'step': '0.01', 'placeholder': '0.00'})
            self.fields[f].help_text = event.currency
        self.questions = questions(event)
        for q in self.questions:
            label = LazyI18nString(q['question'])
            if q['type'] == 'text':
                field = forms.CharField(label=label, required=q['required'], max_length=2000,
                                        widget=forms.Textarea(attrs={'rows': 2}))
            elif q['type'] == 'choice':
                field = forms.ChoiceField(label=label, required=q['required'], choices=[('', '---')] + [
                    (str(i), LazyI18nString(c)) for i, c in enumerate(q['choices'])])
            else:
                # required yes/no: one must be picked, "no" is a valid answer
                field = forms.TypedChoiceField(
                    label=label, required=q['required'], widget=forms.RadioSelect, empty_value=None,
                    coerce=lambda v: v == 'yes', choices=(('yes', _('Yes')), ('no', _('No'))))
            self.fields[f'question_{q["id"]}'] = field

    def question_fields(self):
        return [self[f'question_{q["id"]}'] for q in self.questions]

    def clean(self):
        d = super().clean()
        amounts = [d.get(f) or Decimal('0.00') for f in AMOUNT_FIELDS]
        if not d.get('requested_ticket') and not any(amounts) and not self.errors.keys() & set(AMOUNT_FIELDS):
            raise ValidationError(_('Please tell us what you ask for: a free ticket, an amount, or both.'))
        if any(amounts) and not (d.get('justification') or '').strip():
            self.add_error('justification', _('Please tell us briefly what the amounts are for.'))
        return d

    def grant_fields(self):
        d = self.cleaned_data
        answers = {}
        for q in self.questions:
            value = d.get(f'question_{q["id"]}')
            if value not in (None, ''):
                answers[q['id']] = value
        return {
            'name': d['name'].strip(),
            'email': d['email'].strip(),
            'locale': d['locale'],
            'motivation': d['motivation'].strip(),
            'requested_ticket': d['requested_ticket'],
            **{f: d.get(f) or Decimal('0.00') for f in AMOUNT_FIELDS},
            'justification': (d.get('justification') or '').strip(),
            'answers': answers,
            # nothing is granted before a decision; the free ticket follows the request until organizers change it
            'ticket': d['requested_ticket'],
            'travel_amount': Decimal('0.00'),
            'accommodation_amount': Decimal('0.00'),
            'other_amount': Decimal('0.00'),
        }


# --- flood control ---

def too_many(key, *parameters, request=None, max_num, expire_time):
    """
    pretix's own rate limit (Redis) where pretix has Redis; otherwise a counter in Django's cache. Keyed by the
    visitor's IP address, hashed, and kept only for the window.
    """
    if settings.HAS_REDIS:
        return rate_limit(key, *parameters, include_ip_from_request=request, max_num=max_num, expire_time=expire_time)
    ip = get_client_ip(request) if request is not None else ''
    cache_key = _get_key(key, (*parameters, ip))
    cache.add(cache_key, 0, timeout=expire_time)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # a cache that keeps nothing (e.g. the dummy cache) cannot count
        return False
    return count > max_num


# --- views ---

class ApplyView(EventViewMixin, FormView):
    template_name = 'pretix_grants/apply.html'
    form_class = ApplicationForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs['event'] = self.request.event
        return kwargs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['open'] = applications_open(self.request.event)
        opens = setting_datetime(self.request.event, 'grants_applications_open')
        ctx['not_yet'] = bool(opens) and now() < opens
        closes = setting_datetime(self.request.event, 'grants_applications_close')
        ctx['opens_at'] = mails.format_moment(self.request.event, opens) if ctx['not_yet'] else ''
        ctx['closes_at'] = mails.format_moment(self.request.event, closes) if closes and ctx['open'] else ''
        return ctx

    def post(self, request, *args, **kwargs):
        if not applications_open(request.event):
            return self.render_to_response(self.get_context_data(), status=403)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        event = self.request.event
        if too_many('pretix_grants_apply', event.pk, request=self.request, max_num=MAX_APPLICATIONS,
                    expire_time=WINDOW_SECONDS):
            form.add_error(None, _('We have received many applications from your network. Please try again in an '
                                   'hour.'))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        fields = form.grant_fields()
        try:
            workflow.create_grant(event, **fields)
        except workflow.DuplicateGrant as e:
            # the same answer as for a new application, so the form tells nobody who applied; the address on file
            # gets the link to the application it has, with its own data, none of what was typed now
            self._send_link_again(e.existing)
        return redirect(eventreverse(event, 'plugins:pretix_grants:apply.thanks'))

    def _send_link_again(self, grant):
        """The link goes only to the address on file, and at most once per grant in ``RESEND_SECONDS``."""
        if grant is None or too_many('pretix_grants_apply_resend', grant.pk, max_num=1, expire_time=RESEND_SECONDS):
            return
        mails.send_received(grant)


class ApplyThanksView(EventViewMixin, TemplateView):
    template_name = 'pretix_grants/apply_thanks.html'


def front_page_link(event, request):
    """The "Apply for a grant" box on the shop's front page, while applications are open."""
    if not applications_open(event):
        return ''
    close = setting_datetime(event, 'grants_applications_close')
    return format_html(
        '<div class="panel panel-default grants-apply"><div class="panel-body">'
        '<p><strong>{title}</strong></p><p>{text}</p><a class="btn btn-primary" href="{url}">{button}</a>'
        '</div></div>',
        title=pgettext_lazy('grant', 'Financial aid'),
        text=(_('Applications for a grant are open until {date}.').format(
            date=mails.format_moment(event, close)) if close
            else _('Applications for a grant are open.')),
        url=eventreverse(event, 'plugins:pretix_grants:apply'),
        button=_('Apply for a grant'),
    )
