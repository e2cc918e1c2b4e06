import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView
from pretix.base.i18n import language
from pretix.base.models import LogEntry, OutgoingMail, Voucher
from pretix.control.views import PaginationMixin
from pretix.control.views.event import EventSettingsFormView
from pretix.helpers.format import format_map

from .. import issuance, mails, reviews, views as grantee_page, workflow
from ..applications import answer_display
from ..base.pages import PluginPageMixin
from ..defaults import MAIL_TEMPLATES
from ..hooks import grant_page_panels
from ..models import Grant, GrantMail, Review
from ..permissions import MANAGE, REVIEW
from . import actions
from .exporters import GrantExporter
from .forms import (
    BULK_CHOICES, MAIL_LABELS, ActionForm, GrantForm, GrantSettingsForm,
    ReviewForm, question_formset, template_placeholders,
)
from .listing import BULK_KEPT, filtered_grants, grant_url


class GrantList(PluginPageMixin, PaginationMixin, ListView):
    template_name = 'pretix_grants/control/list.html'
    context_object_name = 'grants'
    paginate_by = 50

    def get_queryset(self):
        self.blind = reviews.reviewer_in_control(self.request)
        self.filter_form, qs = filtered_grants(self.request.event, self.request.GET, user=self.request.user,
                                               blind=self.blind)
        self.filtered = qs
        return qs.select_related('voucher')

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        counts = dict(Grant.objects.filter(event=event).values_list('status').annotate(c=Count('pk')).order_by())
        ctx['status_counts'] = [(key, label, counts.get(key, 0)) for key, label in Grant.STATUS_CHOICES]
        ctx['total_count'] = sum(counts.values())
        ctx['granted_sum'] = Grant.objects.filter(event=event).holding_place().granted_total()
        ctx['budget'] = event.settings.grants_budget
        if ctx['budget'] is not None:
            ctx['over_budget'] = ctx['granted_sum'] > ctx['budget']
        ctx['filter_form'] = self.filter_form
        ctx['bulk_choices'] = BULK_CHOICES
        ctx['decision_choices'] = Grant.DECISION_CHOICES
        ctx['run_id'] = uuid.uuid4()
        ctx['filter_query'] = self.request.GET.urlencode()
        # a bulk action sent back with an error (e.g. no decision chosen to stage) keeps what was chosen
        kept = self.request.session.pop(BULK_KEPT, None) or {}
        ctx['kept_grants'] = set(kept.get('grant') or [])
        ctx['kept_operation'] = kept.get('operation') or ''
        ctx['kept_scope'] = kept.get('scope') or ''
        # one column each, the e-mail under the name, the staged decision under the status, the review figures
        # together: so the list fits a 1280 px screen
        ctx['orderings'] = [('name', _('Name')), ('status', _('Status')), ('voucher_state', _('Voucher')),
                            ('requested_sum', _('Requested')), ('total', _('Granted')),
                            ('review_mean', _('Reviews')), ('own_score', _('My score')), ('created', _('Applied'))]
        # pretix's export page with the plugin's exporter chosen
        ctx['export_url'] = reverse('control:event.orders.export', kwargs={
            'organizer': event.organizer.slug, 'event': event.slug}) + '?identifier=' + GrantExporter.identifier
        ctx['can_review'] = self.blind
        ctx.update(self.ranking(ctx['granted_sum'], ctx['budget']))
        return ctx

    def ranking(self, granted_sum, budget):
        """
        Sorted by mean score (best first), the list is the ranking: the requested amounts of the grants still to
        decide (pending, waiting list) add up down the whole ranking, not only this page, and with a budget the
        grant where the money runs out is marked. One query, whatever the number of grants.
        """
        if (self.filter_form.cleaned_data.get('ordering') if self.filter_form.is_bound else None) != '-review_mean':
            return {}
        open_ = (Grant.STATUS_PENDING, Grant.STATUS_WAITING_LIST)
        pairs = [(pk, amount) for pk, amount, st in self.filtered.values_list('pk', 'requested_sum', 'status')
                 if st in open_]
        available = budget - granted_sum if budget is not None else None
        totals = reviews.running_totals(pairs, available)
        for g in self.object_list_page:
            g.running_total, g.fits, g.runs_out_here = totals.get(g.pk, (None, True, False))
        return {'ranking': True, 'available': available}

    def paginate_queryset(self, queryset, page_size):
        result = super().paginate_queryset(queryset, page_size)
        self.object_list_page = result[2]
        return result


class GrantDetail(PluginPageMixin, DetailView):
    template_name = 'pretix_grants/control/detail.html'
    context_object_name = 'grant'

    def get_object(self, queryset=None):
        grant = Grant.objects.filter(event=self.request.event, pk=self.kwargs['grant']).open_to(
            self.request.user).select_related('voucher').first()
        if not grant:
            raise Http404(_('Unknown grant.'))
        return grant

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        g = self.object
        ctx['actions'] = actions.available(g) if ctx['can_manage'] else set()
        ctx['answers'] = answer_display(self.request.event, g)
        ctx['can_review'] = reviews.reviewer_in_control(self.request)
        ctx['decisions'] = workflow.allowed_decisions(g)
        # the secret link acts as the grantee: only for managers (opened signed in, the page is read only and the
        # visit logged); everyone sees what the page tells the grantee
        ctx['reply_url'] = mails.reply_url(g) if ctx['can_manage'] else None
        ctx['grantee_sees'] = grantee_page.status_texts(g)
        ctx['mails'] = list(g.mails.select_related('outgoing_mail'))
        resends = mails.resends(g)
        for m in ctx['mails']:
            m.resends = resends.get(m.outgoing_mail_id, []) if m.outgoing_mail_id else []
        ctx['retryable'] = OutgoingMail.STATUS_LIST_RETRYABLE
        q = Q(content_type=ContentType.objects.get_for_model(Grant), object_id=g.pk)
        if g.voucher_id:
            q |= Q(content_type=ContentType.objects.get_for_model(Voucher), object_id=g.voucher_id)
        ctx['logs'] = LogEntry.objects.filter(q, event=self.request.event).select_related(
            'user', 'content_type', 'api_token', 'oauth_application', 'device').order_by('-datetime', '-pk')
        if g.voucher:
            ctx['voucher_orders'] = list(g.voucher.distinct_orders()[:10]) if g.voucher.redeemed else []
        ctx['locale_name'] = dict(settings.LANGUAGES).get(g.locale, g.locale)
        if g.ticket and g.may_link_voucher():  # a grant that can still come to a voucher
            # say before anyone confirms what issuing will do with a voucher this person already holds
            (ctx['voucher_plan'], ctx['planned_voucher'], ctx['voucher_target'],
             ctx['voucher_unfit']) = issuance.planned_voucher(g)
        ctx['panels'] = [html for receiver, html in grant_page_panels.send(
            self.request.event, grant=g, request=self.request) if html]
        return ctx


class GrantAction(PluginPageMixin, View):
    """One action from the detail page's buttons. Whatever is posted, the state machine has the last word."""
    permission = MANAGE

    def post(self, request, *args, **kwargs):
        grant = Grant.objects.filter(event=request.event, pk=kwargs['grant']).open_to(request.user).first()
        if not grant:
            raise Http404(_('Unknown grant.'))
        back = redirect(grant_url(request.event, 'detail', grant=grant.pk))
        if request.POST.get('operation') == 'retry_mail':
            mail_id = request.POST.get('mail', '')
            record = GrantMail.objects.filter(grant=grant, pk=int(mail_id)).select_related(
                'outgoing_mail', 'grant').first() if mail_id.isascii() and mail_id.isdigit() else None
            if record and mails.retry(record):
                messages.success(request, _('The email has been queued again.'))
            else:
                messages.error(request, _('This email cannot be sent again.'))
            return back
        form = ActionForm(data=request.POST)
        if not form.is_valid():
            messages.error(request, _('This action is not possible.'))
            return back
        d = form.cleaned_data
        if d['operation'] not in actions.available(grant):
            messages.error(request, _('This action is not possible for this grant in its current state.'))
            return back
        try:
            actions.run(grant, d['operation'], user=request.user, decision=d['decision'] or None,
                        reason=d['reason'] or None, code=d['code'])
        except actions.Skipped as e:
            messages.info(request, str(e))
        except (workflow.GrantTransitionError, ValueError) as e:
            messages.error(request, str(e))
        else:
            if grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION and d['operation'] in (actions.ISSUE, actions.LINK):
                messages.error(request, grant.voucher_attention)
            else:
                messages.success(request, _('Your changes have been saved.'))
        return back


class GrantCreate(PluginPageMixin, FormView):
    permission = MANAGE
    template_name = 'pretix_grants/control/form.html'
    form_class = GrantForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs['event'] = self.request.event
        return kwargs

    def form_valid(self, form):
        d = form.cleaned_data
        try:
            grant = workflow.create_grant(self.request.event, user=self.request.user,
                                          notify=self.request.POST.get('notify') == 'on', **d)
        except workflow.DuplicateGrant as e:
            form.add_error('email', str(e))
            return self.form_invalid(form)
        messages.success(self.request, _('The grant has been created.'))
        return redirect(grant_url(self.request.event, 'detail', grant=grant.pk))

    def form_invalid(self, form):
        messages.error(self.request, _('We could not save your changes. See below for details.'))
        return super().form_invalid(form)


class GrantEdit(PluginPageMixin, FormView):
    permission = MANAGE
    template_name = 'pretix_grants/control/form.html'
    form_class = GrantForm

    @cached_property
    def grant(self):
        grant = Grant.objects.filter(event=self.request.event, pk=self.kwargs['grant']).open_to(self.request.user).first()
        if not grant:
            raise Http404(_('Unknown grant.'))
        return grant

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs['event'] = self.request.event
        kwargs['instance'] = self.grant
        return kwargs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['grant'] = self.grant
        return ctx

    def form_valid(self, form):
        if form.has_changed():
            try:
                # only the fields the form shows and the person changed
                workflow.change_fields(self.grant, {k: form.cleaned_data[k] for k in form.changed_data},
                                       user=self.request.user)
            except workflow.DateFixed as e:
                form.add_error('subevent', str(e))
                return self.form_invalid(form)
            except IntegrityError:
                form.add_error('email', _('There already is a grant for this email address in this event.'))
                return self.form_invalid(form)
        messages.success(self.request, _('Your changes have been saved.'))
        return redirect(grant_url(self.request.event, 'detail', grant=self.grant.pk))

    def form_invalid(self, form):
        messages.error(self.request, _('We could not save your changes. See below for details.'))
        return super().form_invalid(form)


def render_preview(event, key, locale):
    """The template rendered with pretix's sample values for its placeholders, in ``locale``."""
    subject, text = mails.template(event, key)
    with language(locale, event.settings.region):
        ctx = {k: str(p.render_sample(event)) for k, p in template_placeholders(event, key).items()}
        return (format_map(str(subject), ctx), format_map(str(text), ctx))


class GrantSettings(PluginPageMixin, EventSettingsFormView):
    """
    The plugin's settings in tabs, as pretix's own event settings: vouchers, deadlines and reminders, budget,
    applications (with the extra questions as a form of their own) and the mail templates.
    """
    permission = MANAGE
    form_class = GrantSettingsForm
    template_name = 'pretix_grants/control/settings.html'

    def get_success_url(self):
        return grant_url(self.request.event, 'settings')

    @cached_property
    def questions(self):
        return question_formset(self.request.event, self.request.POST if self.request.method == 'POST' else None)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        form = ctx['form']
        ctx['questions'] = self.questions
        ctx['templates'] = [
            (key, MAIL_LABELS.get(key, key), form[f'grants_mail_{key}_subject'], form[f'grants_mail_{key}_text'])
            for key in MAIL_TEMPLATES
        ]
        ctx['locales'] = [(lc, dict(settings.LANGUAGES).get(lc, lc)) for lc in event.settings.locales]
        return ctx

    def post(self, request, *args, **kwargs):
        if not self.questions.is_valid():
            form = self.get_form()
            form.is_valid()
            messages.error(request, _('We could not save your changes. See below for details.'))
            return self.render_to_response(self.get_context_data(form=form))
        return super().post(request, *args, **kwargs)

    def form_success(self):
        # inside the settings form's transaction
        event = self.request.event
        new = self.questions.questions()
        if new != (event.settings.grants_application_questions or []):
            event.settings.grants_application_questions = new
            event.log_action('pretix.event.settings', user=self.request.user,
                             data={'grants_application_questions': new})


class TemplatePreview(PluginPageMixin, TemplateView):
    """One template rendered with sample values, as the grantee would read it."""
    template_name = 'pretix_grants/control/preview.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        key = self.kwargs['key']
        if key not in MAIL_TEMPLATES:
            raise Http404()
        event = self.request.event
        lc = self.request.GET.get('locale')
        if lc not in event.settings.locales:
            lc = event.settings.locale
        ctx['key'] = key
        ctx['label'] = MAIL_LABELS.get(key, key)
        ctx['locale'] = lc
        ctx['locale_name'] = dict(settings.LANGUAGES).get(lc, lc)
        ctx['subject'], ctx['text'] = render_preview(event, key, lc)
        return ctx


class GrantReview(PluginPageMixin, FormView):
    """Score one application. Others' scores and notes appear only once the reviewer has scored it."""
    permission = REVIEW
    template_name = 'pretix_grants/control/review.html'
    form_class = ReviewForm

    @cached_property
    def grant(self):
        grant = reviews.annotate(Grant.objects.filter(event=self.request.event, pk=self.kwargs['grant']).open_to(
            self.request.user), self.request.user, blind=True).first()
        if not grant:
            raise Http404(_('Unknown grant.'))
        return grant

    def get_initial(self):
        own = Review.objects.filter(grant=self.grant, user=self.request.user).first()
        return {'score': own.score, 'note': own.note} if own else {}

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        g = self.grant
        ctx['grant'] = g
        # blind review: the applicant's name and e-mail are masked where they wrote them into their answers
        ctx['answers'] = [(q, reviews.mask_identity(a, g)) for q, a in answer_display(self.request.event, g)]
        ctx['motivation'] = reviews.mask_identity(g.motivation, g)
        ctx['justification'] = reviews.mask_identity(g.justification, g)
        ctx['reviews'] = reviews.visible_reviews(g, self.request.user, blind=True)
        ctx['scored'] = g.own_score is not None
        return ctx

    def form_valid(self, form):
        reviews.score(self.grant, self.request.user, form.cleaned_data['score'], form.cleaned_data['note'])
        messages.success(self.request, _('Your score has been saved.'))
        if self.request.POST.get('next'):
            return redirect(grant_url(self.request.event, 'review.next'))
        return redirect(grant_url(self.request.event, 'review', grant=self.grant.pk))

    def form_invalid(self, form):
        messages.error(self.request, _('We could not save your score. See below for details.'))
        return super().form_invalid(form)


class NextUnreviewed(PluginPageMixin, View):
    permission = REVIEW

    def get(self, request, *args, **kwargs):
        grant = reviews.next_unreviewed(request.event, request.user)
        if grant is None:
            messages.info(request, _('You have scored every pending application. Thank you!'))
            return redirect(grant_url(request.event, 'list'))
        return redirect(grant_url(request.event, 'review', grant=grant.pk))
