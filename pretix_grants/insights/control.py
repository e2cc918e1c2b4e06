"""The organizer's pages of insights: Grants → Statistics, its settings and the post-event report (PDF, CSV)."""
import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from i18nfield.forms import I18nFormField, I18nTextarea
from pretix.base.forms import SettingsForm
from pretix.base.i18n import language
from pretix.base.templatetags.money import money_filter
from pretix.control.views import ChartContainingView

from ..base.pages import PluginPageMixin
from ..models import Grant
from ..permissions import MANAGE
from . import report, rules
from .suppression import SHOWN

MONEY_COLUMNS = ('granted', 'confirmed', 'claimed')
BUDGET_COLUMNS = ('budget', 'left')


def insights_url(event, name='control.insights'):
    return reverse(f'plugins:pretix_grants:{name}', kwargs={'organizer': event.organizer.slug, 'event': event.slug})


class FilterForm(forms.Form):
    status = forms.MultipleChoiceField(label=_('Status'), required=False, choices=Grant.STATUS_CHOICES,
                                       widget=forms.CheckboxSelectMultiple)
    round = forms.ChoiceField(label=_('Decision round'), required=False)

    def __init__(self, *args, event, rounds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields['round'].choices = [('', pgettext_lazy('filter', 'All rounds'))] + [
            (d.isoformat(), _('{date} ({n} decisions)').format(date=date_format(d, 'SHORT_DATE_FORMAT'), n=n))
            for d, n in rounds]
        self.rounds = {d.isoformat(): d for d, n in rounds}


class InsightsSettingsForm(SettingsForm):
    grants_insights_threshold = forms.IntegerField(
        label=_('Smallest number shown'), min_value=1, max_value=100,
        help_text=_('Counts below it are shown as "fewer than …" on the page, in the report and in its CSV.'))
    grants_insights_country_question = forms.ChoiceField(
        label=_('Question for the country of residence'), required=False,
        help_text=_('An application question whose answer is the country (a two-letter code or a name).'))
    grants_insights_intro = I18nFormField(
        label=_('Introduction of the report'), required=False, widget=I18nTextarea,
        help_text=_('A few sentences at the top of the post-event report, in each language.'))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields['grants_insights_country_question'].choices = [('', '---')] + [
            (q['id'], q['id']) for q in rules.questions(self.obj)]


class InsightsView(PluginPageMixin, ChartContainingView, TemplateView):
    """pretix's ChartContainingView: the page's CSP lets Raphaël draw, as on pretix's statistics page."""
    template_name = 'pretix_grants/insights/index.html'

    @cached_property
    def filter_form(self):
        event = self.request.event
        return FilterForm(data=self.request.GET or None, event=event, rounds=self.rounds)

    @cached_property
    def rounds(self):
        return rules.rounds(self.request.event)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        form = self.filter_form
        statuses, round_day = None, None
        if form.is_bound and form.is_valid():
            statuses = form.cleaned_data['status'] or None
            round_day = form.rounds.get(form.cleaned_data['round'])
        fig = rules.figures(event, rules.questions(event), statuses, round_day, self.rounds)
        ctx.update(view_context(event, fig))
        ctx['filter_form'] = form
        ctx['filtered'] = bool(statuses or round_day)
        ctx['locales'] = [(lc, dict(settings.LANGUAGES).get(lc, lc)) for lc in event.settings.locales]
        if ctx['can_manage']:
            ctx['settings_form'] = InsightsSettingsForm(obj=event)
        return ctx


def view_context(event, fig):
    """The figures as the template and the charts read them: each cell with its text, each chart's data as JSON."""
    k = fig['k']

    def money(v):
        return money_filter(v, event.currency)

    def t(cell, as_money=False):
        return rules.text(cell, k, money if as_money else None)

    funnel = [{'cell': c, 'text': t(c), 'pct': c.extra['pct'],
               'leaving': [{'label': lc.label, 'text': t(lc)} for lc in c.extra['leaving']]} for c in fig['funnel']]

    def table(tb):
        return {'key': tb['key'], 'title': str(tb['title']), 'withheld': tb['withheld'],
                'rows': [{'label': c.label, 'text': t(c)} for c in tb['cells']]}

    m = fig['money']
    marks = _marks(event, fig)

    def t_or_dash(cell):
        return '–' if cell is None else t(cell, True)

    columns = MONEY_COLUMNS + BUDGET_COLUMNS if m['has_budget'] else MONEY_COLUMNS
    money_rows = [{'label': r['label'], **{col: t_or_dash(r[col]) for col in columns}} for r in m['rows']]
    money_total = {col: t_or_dash(m[col]) for col in columns + ('approved', 'paid')}
    charts = {
        'funnel': [{'label': c.label, 'value': c.chart_value(), 'text': t(c)} for c in fig['funnel']],
        'money': [{'label': r['label'],
                   **{col: float(r[col].chart_value()) if r[col] is not None else 0 for col in columns},
                   **{f'{col}_text': t_or_dash(r[col]) for col in columns}}
                  for r in m['rows']],
        'money_columns': list(columns),
        'days': [{'label': c.label, 'value': c.chart_value(), 'text': t(c)} for c in fig['days']['cells']],
        'events': [d.isoformat() for d in marks],
        'who': [{'key': tb['key'], 'rows': [{'label': c.label, 'value': c.chart_value(), 'text': t(c)}
                                            for c in tb['cells']]} for tb in [fig['types']] + fig['who']],
        'labels': {'count': str(_('Applications')), 'granted': str(_('Granted')),
                   'confirmed': str(pgettext_lazy('money', 'Confirmed')), 'claimed': str(_('Claimed')),
                   'budget': str(_('Budget')), 'left': str(_('Left of the budget')),
                   'grants': str(_('Grants'))},
    }
    att = fig['attendance']
    return {
        'fig': fig, 'k': k, 'applied_text': t(fig['applied']), 'funnel': funnel,
        'statuses': table(fig['statuses']), 'types': table(fig['types']), 'who': [table(tb) for tb in fig['who']],
        'days': table(fig['days']),
        'money_rows': money_rows, 'money_total': money_total, 'has_budget': m['has_budget'],
        'rate_grantees': att['grantees'], 'rate_all': att['all'],
        'charts_json': json.dumps(charts),
        'marks': [date_format(d, 'SHORT_DATE_FORMAT') for d in marks],
        'shown': SHOWN,
    }


def _marks(event, fig):
    """The dates a timeline marks: the application period's opening and closing, and each decision round."""
    tz = event.timezone
    marks = [d.astimezone(tz).date() for d in fig['application_period'] if d and hasattr(d, 'astimezone')]
    return sorted(set(marks) | {d for d, n in fig['rounds']})


class InsightsSettings(PluginPageMixin, FormView):
    permission = MANAGE
    form_class = InsightsSettingsForm
    template_name = 'pretix_grants/insights/settings.html'

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs['obj'] = self.request.event
        return kwargs

    def form_valid(self, form):
        form.save()
        if form.has_changed():
            self.request.event.log_action('pretix.event.settings', user=self.request.user,
                                          data={k: str(form.cleaned_data.get(k)) for k in form.changed_data})
        messages.success(self.request, _('Your changes have been saved.'))
        return redirect(insights_url(self.request.event))


class ReportForm(forms.Form):
    locale = forms.ChoiceField(label=_('Language'))
    format = forms.ChoiceField(choices=(('pdf', 'PDF'), ('csv', 'CSV')))

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        self.fields['locale'].choices = [(lc, names.get(lc, lc)) for lc in event.settings.locales]


class ReportView(PluginPageMixin, View):
    """The post-event report of the whole programme (no filters), as PDF or CSV, in a language of the event."""

    def get(self, request, *args, **kwargs):
        event = request.event
        form = ReportForm(data=request.GET, event=event)
        if not form.is_valid():
            return HttpResponse(_('Choose a language of the event and PDF or CSV.'), status=400,
                                content_type='text/plain; charset=utf-8')
        locale, fmt = form.cleaned_data['locale'], form.cleaned_data['format']
        with language(locale, event.settings.region):
            fig = rules.figures(event, rules.questions(event))
            if fmt == 'pdf':
                body, content_type = report.pdf(event, fig), 'application/pdf'
            else:
                body, content_type = report.csv_bytes(event, fig), 'text/csv; charset=utf-8'
        response = HttpResponse(body, content_type=content_type)
        response['Content-Disposition'] = f'attachment; filename="{event.slug}-grants-report-{locale}.{fmt}"'
        return response
