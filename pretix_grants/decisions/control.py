"""The Decide page (the proposal, its chart and table, the draw at the line, staging) and the conflicts page."""
import json

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from pretix.base.models import User
from pretix.control.views import ChartContainingView
from pretix.multidomain.urlreverse import eventreverse

from ..base.pages import PluginPageMixin
from ..models import Conflict, Grant
from ..permissions import MANAGE, REVIEW
from . import programme, rules
from .forms import ConflictForm, DrawForm, options_from


def decide_url(event, query=''):
    url = reverse('plugins:pretix_grants:control.decide', kwargs={
        'organizer': event.organizer.slug, 'event': event.slug})
    return f'{url}?{query}' if query else url


def draw_public_url(draw):
    return eventreverse(draw.event, 'plugins:pretix_grants:draw', kwargs={'draw': draw.pk})


# the table shows the ranking in pages of this many rows (the chart shows all of it)
PAGE_SIZE = 100


def table_page(proposal, requested):
    """
    The page of the table to show: ``requested`` (1-based) if valid, else the page with the funding line.
    Returns ``(rows, page, pages, first row number)``.
    """
    rows = proposal.rows
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    if not (requested or '').isdigit() or not 1 <= int(requested) <= pages:
        line = next((i for i, r in enumerate(rows) if not r.line.funded and r.line.reason != rules.UNSCORED), 0)
        page = line // PAGE_SIZE + 1
    else:
        page = int(requested)
    start = (page - 1) * PAGE_SIZE
    return rows[start:start + PAGE_SIZE], page, pages, start


def chart_data(rows):
    """One point per applicant down the (drawn) ranking: the offer, the running total, funded or not, tied or not."""
    return [{
        'x': str(i + 1),
        'offer': float(rules.total(r.line.offer)),
        'cumulative': float(r.cumulative),
        'funded': r.line.funded,
        'tied': r.tied,
    } for i, r in enumerate(rows) if r.line.reason != rules.UNSCORED]


class Decide(PluginPageMixin, ChartContainingView, TemplateView):
    """pretix's ChartContainingView: the page's CSP lets Raphaël draw, as on pretix's statistics page."""
    permission = MANAGE
    template_name = 'pretix_grants/decisions/decide.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        options, form = options_from(self.request.GET, event)
        ctx['form'] = form
        ctx['draw_form'] = DrawForm()
        ctx['query'] = self.request.GET.urlencode()
        if options is None:
            return ctx
        proposal = programme.propose(event, options)
        hidden = programme.closed_to(event, self.request.user)
        for r in proposal.rows:
            r.conflicted = r.grant.pk in hidden
        ctx['proposal'] = proposal
        ctx['rows'], ctx['page'], ctx['pages'], ctx['first'] = table_page(proposal, self.request.GET.get('page'))
        ctx['page_links'] = [(n, self._page_query(n)) for n in range(1, ctx['pages'] + 1)] if ctx['pages'] > 1 else []
        ctx['chart'] = json.dumps(chart_data(proposal.rows))
        ctx['budget'] = event.settings.get('grants_budget', as_type=type(proposal.used))
        line = next((r for r in proposal.rows if not r.line.funded and r.line.reason != rules.UNSCORED), None)
        ctx['line_position'] = proposal.rows.index(line) + 1 if line else None
        for d in (proposal.draw, proposal.pending_draw):
            if d:
                ctx['draw_url'] = draw_public_url(d)
        return ctx

    def _page_query(self, n):
        q = self.request.GET.copy()
        q['page'] = n
        return q.urlencode()

    def post(self, request, *args, **kwargs):
        event = request.event
        query = request.POST.get('query', '')
        options, form = options_from(request.POST, event)
        if options is None:
            messages.error(request, _('We could not make the proposal. See below for details.'))
            return redirect(decide_url(event, query))
        proposal = programme.propose(event, options)
        op = request.POST.get('operation')
        try:
            if op == 'commit':
                draw_form = DrawForm(data=request.POST)
                reason = draw_form.cleaned_data['reason'] if draw_form.is_valid() else ''
                programme.commit_draw(event, proposal.band, proposal.programme.tie_rule, user=request.user,
                                      reason=reason)
                messages.success(request, _('The commitment to the draw has been recorded. It is public now; '
                                            'draw the lots when you are ready.'))
            elif op == 'draw':
                if not proposal.pending_draw:
                    raise programme.DrawError(_('There is no draw to make for this line.'))
                programme.make_draw(proposal.pending_draw, user=request.user)
                messages.success(request, _('The lots have been drawn and the seed is public.'))
            elif op == 'stage':
                counts = programme.stage(event, proposal, user=request.user)
                messages.success(request, _('The proposal has been staged: {approved} offers, {waiting} on the '
                                            'waiting list, {rejected} rejections. Publish them from the list of '
                                            'grants.').format(approved=counts[Grant.STATUS_APPROVED],
                                                              waiting=counts[Grant.STATUS_WAITING_LIST],
                                                              rejected=counts[Grant.STATUS_REJECTED]))
            else:
                messages.error(request, _('This action is not possible.'))
        except programme.DrawError as e:
            messages.error(request, str(e))
        return redirect(decide_url(event, query))


class Conflicts(PluginPageMixin, TemplateView):
    """Conflicts of interest: a reviewer declares their own; a manager declares them for any team member."""
    permission = REVIEW
    template_name = 'pretix_grants/decisions/conflicts.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        qs = Conflict.objects.filter(grant__event=self.request.event).select_related('user', 'declared_by')
        if not ctx['can_manage']:
            qs = qs.filter(user=self.request.user)
        ctx['conflicts'] = qs
        ctx['form'] = kwargs.get('form') or ConflictForm()
        return ctx

    def post(self, request, *args, **kwargs):
        event = request.event
        can_manage = request.user.has_event_permission(request.organizer, event, MANAGE, request=request)
        if request.POST.get('remove'):
            c = Conflict.objects.filter(grant__event=event, pk=request.POST['remove'] if request.POST['remove'].isdigit()
                                        else 0).first()
            if not c or not can_manage:
                raise Http404()
            c.grant.log_action('pretix_grants.grant.conflict_removed', user=request.user)
            c.delete()
            messages.success(request, _('The conflict of interest has been removed.'))
            return redirect(request.path)
        form = ConflictForm(data=request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        grant = Grant.objects.filter(event=event, pk=form.cleaned_data['grant']).first()
        email = form.cleaned_data['email']
        member = request.user
        if email and email.lower() != request.user.email.lower():
            if not can_manage:
                form.add_error('email', _('Only a manager declares conflicts for other team members.'))
            member = User.objects.filter(email__iexact=email).first()
            if member is None or not member.has_event_permission(request.organizer, event, REVIEW):
                form.add_error('email', _('There is no reviewer of this event with this e-mail address.'))
        if grant is None:
            form.add_error('grant', _('Unknown grant.'))
        if form.errors:
            return self.render_to_response(self.get_context_data(form=form))
        try:
            with transaction.atomic():
                Conflict.objects.create(grant=grant, user=member, declared_by=request.user)
        except IntegrityError:
            messages.info(request, _('This conflict of interest was already declared.'))
        else:
            # who has the conflict is not said in the log the team reads: only that one was declared
            grant.log_action('pretix_grants.grant.conflict_declared', user=request.user)
            messages.success(request, _('The conflict of interest has been recorded: the application is closed to '
                                        'this reviewer.'))
        return redirect(request.path)
