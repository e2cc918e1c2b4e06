import hmac

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from pretix.multidomain.urlreverse import eventreverse
from pretix.presale.views import EventViewMixin

from . import workflow
from .mails import redeem_url
from .models import Grant


class ReplyView(EventViewMixin, TemplateView):
    """The grantee's page, reached only through the secret link in their mails."""
    template_name = 'pretix_grants/reply.html'

    def dispatch(self, request, *args, **kwargs):
        secret = kwargs['secret']
        grant = Grant.objects.filter(event=request.event, secret=secret).select_related('voucher').first()
        if grant is None or not hmac.compare_digest(grant.secret.encode(), secret.encode()):
            raise Http404(_('Unknown grant.'))
        self.grant = grant
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        g = self.grant
        ctx['grant'] = g
        ctx['can_confirm'] = workflow.allowed(g, Grant.STATUS_CONFIRMED, workflow.GRANTEE) and not self._deadline_passed()
        ctx['can_refuse'] = workflow.allowed(g, Grant.STATUS_REFUSED, workflow.GRANTEE) and not (
            g.status == Grant.STATUS_APPROVED and self._deadline_passed()
        )
        if g.voucher and g.voucher_state in Grant.VOUCHER_STATES_DONE:
            ctx['redeem_url'] = redeem_url(self.request.event, g.voucher.code)
        return ctx

    def _deadline_passed(self):
        try:
            workflow.check_transition(self.grant, Grant.STATUS_CONFIRMED, workflow.GRANTEE)
        except workflow.ReplyDeadlinePassed:
            return True
        except workflow.GrantTransitionError:
            return False
        return False

    def post(self, request, *args, **kwargs):
        action = request.POST.get('action')
        try:
            if action == 'confirm':
                workflow.confirm(self.grant, actor=workflow.GRANTEE)
                messages.success(request, _('Thank you: your grant is confirmed.'))
            elif action == 'refuse':
                workflow.refuse(self.grant, actor=workflow.GRANTEE)
                messages.success(request, _('You have declined the grant. Thank you for letting us know.'))
            else:
                messages.error(request, _('Unknown action.'))
        except workflow.GrantTransitionError as e:
            messages.error(request, str(e))
        return redirect(eventreverse(request.event, 'plugins:pretix_grants:reply', kwargs={'secret': self.grant.secret}))
