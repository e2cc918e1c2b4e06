"""
The grantee's reply page in the event's shop, reached only through the secret link in their mails.

Grantees are not pretix users: the link is their only key. The page tells them where their grant stands, lets them
confirm or decline an offer before its deadline, and shows their voucher once it exists. Every answer goes through
``workflow`` (which checks the state machine and the deadline and logs the answer with actor ``grantee``).
"""
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from django.views.generic import TemplateView
from pretix.base.i18n import get_language_without_region

from . import issuance, logentries, workflow
from .base.grantpage import GrantPageMixin, request_by_team_member
from .hooks import grant_reply_panels
from .mails import redeem_url
from .models import Grant

OPENED = 'pretix_grants.grant.reply_page.opened'
# Once the first visit is recorded, later visits (the page's own reloads among them) do not ask the database again.
OPENED_CACHE_SECONDS = 30 * 24 * 3600
# While a confirmed grant waits for its voucher the page reloads itself this often, this many times.
REFRESH_SECONDS = 5
REFRESH_TIMES = 24

DEADLINE_PASSED = _('The deadline to reply to this offer has passed.')

# What each status means for the grantee, in plain words: (heading, explanation).
STATUS_TEXTS = {
    Grant.STATUS_PENDING: (
        pgettext_lazy('grant_reply', 'No decision yet'),
        _('We have received your application and it is under review. No decision has been made yet; we will '
          'tell you by email as soon as there is one.'),
    ),
    Grant.STATUS_WAITING_LIST: (
        pgettext_lazy('grant_reply', 'You are on the waiting list'),
        _('We received more applications than we can fund, so your application is on our waiting list. If a '
          'place becomes free, we will send you an offer by email.'),
    ),
    Grant.STATUS_REJECTED: (
        pgettext_lazy('grant_reply', 'No grant this time'),
        _('We are sorry: we cannot offer you a grant this time.'),
    ),
    Grant.STATUS_APPROVED: (
        pgettext_lazy('grant_reply', 'We are offering you a grant'),
        _('Please tell us whether you accept it by the deadline shown below.'),
    ),
    Grant.STATUS_CONFIRMED: (
        pgettext_lazy('grant_reply', 'You have confirmed your grant'),
        _('Thank you. We look forward to seeing you.'),
    ),
    Grant.STATUS_REFUSED: (
        pgettext_lazy('grant_reply', 'You have declined the grant'),
        _('Thank you for letting us know.'),
    ),
    Grant.STATUS_EXPIRED: (
        pgettext_lazy('grant_reply', 'The offer has expired'),
        DEADLINE_PASSED,
    ),
    Grant.STATUS_CANCELLED: (
        pgettext_lazy('grant_reply', 'The grant has been cancelled'),
        _('The organizers have cancelled this grant. If you have questions, please contact them.'),
    ),
}
DEADLINE_PASSED_TEXTS = (pgettext_lazy('grant_reply', 'The offer has expired'), DEADLINE_PASSED)


def status_texts(grant):
    """What the grantee's page says about the grant: (heading, explanation); also the control panel's preview."""
    if grant.reply_deadline_passed():
        return DEADLINE_PASSED_TEXTS
    return STATUS_TEXTS.get(grant.status, (grant.get_status_display(), ''))


def voucher_used(grant):
    """Whether the grant's voucher has been used for an order (then withdrawing is a matter for the organizers)."""
    return issuance.voucher_used(grant)


class ReplyView(GrantPageMixin, TemplateView):
    """
    GET shows the grant; POST ``action=confirm`` confirms, POST ``action=decline`` asks once more and
    ``action=decline`` with ``really=yes`` declines. Anything the state machine or the deadline does not allow
    is refused with a message and changes nothing.
    """
    template_name = 'pretix_grants/reply.html'

    def deadline_passed(self):
        return self.grant.reply_deadline_passed()

    def can_confirm(self):
        return workflow.allowed(self.grant, Grant.STATUS_CONFIRMED, workflow.GRANTEE) and not self.deadline_passed()

    def can_decline(self):
        return (workflow.allowed(self.grant, Grant.STATUS_REFUSED, workflow.GRANTEE) and not self.deadline_passed()
                and not voucher_used(self.grant))

    def status_texts(self):
        return status_texts(self.grant)

    def get(self, request, *args, **kwargs):
        self._record_first_visit()
        return super().get(request, *args, **kwargs)

    def _record_first_visit(self):
        """
        One timeline entry for the grantee's first visit: when, and nothing about who or from where. Checked again
        under the grant's lock, so two first visits at once still give one entry.
        """
        if request_by_team_member(self.request):
            return
        key = f'pretix_grants:reply_page_opened:{self.grant.pk}'
        if cache.get(key):
            return
        if not self.grant.all_logentries().filter(action_type=OPENED).exists():
            with transaction.atomic():
                g = workflow.lock(self.grant)
                if not g.all_logentries().filter(action_type=OPENED).exists():
                    # through logentries.save: no webhook task for it where the organizer has no webhook
                    logentries.save([g.log_action(OPENED, data={}, save=False)])
        cache.set(key, True, OPENED_CACHE_SECONDS)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        g = self.grant
        heading, text = self.status_texts()
        ctx.update({
            'grant': g,
            'status_heading': heading,
            'status_text': text,
            'deadline_passed': self.deadline_passed(),
            'can_confirm': self.can_confirm(),
            'can_decline': self.can_decline(),
            'page_url': self.url,
            'voucher_used': voucher_used(g),
            'panels': [html for receiver, html in grant_reply_panels.send(self.request.event, grant=g,
                                                                          request=self.request) if html],
            'amounts': [(label, value) for label, value in (
                (_('Travel'), g.travel_amount), (_('Accommodation'), g.accommodation_amount), (_('Other'), g.other_amount),
            ) if value],
        })
        if g.status == Grant.STATUS_CONFIRMED and g.ticket:
            if g.holds_voucher():
                ctx['voucher'] = g.voucher
                ctx['redeem_url'] = redeem_url(self.request.event, g.voucher.code, get_language_without_region())
            elif g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION:
                ctx['voucher_delayed'] = True
            elif g.voucher_state == Grant.VOUCHER_OWN_TICKET:
                pass  # their own order is their ticket: no voucher comes (the feature's panel says what happens)
            else:
                ctx['voucher_pending'] = True
                waited = self._waited()
                if waited < REFRESH_TIMES:
                    ctx['refresh_seconds'] = REFRESH_SECONDS
                    ctx['refresh_url'] = f'{self.url}?wait={waited + 1}'
        return ctx

    def _waited(self):
        try:
            return max(0, int(self.request.GET.get('wait', 0)))
        except ValueError:
            return 0

    def post(self, request, *args, **kwargs):
        action = request.POST.get('answer')
        if action == 'confirm':
            return self._answer(request, Grant.STATUS_CONFIRMED, self.can_confirm, workflow.confirm,
                                _('Thank you: your grant is confirmed.'))
        if action == 'decline':
            if request.POST.get('really') != 'yes':
                if not self.can_decline():
                    return self._refused(request)
                # Ask once more; nothing has changed yet.
                return self.render_to_response(self.get_context_data(step='decline'))
            return self._answer(request, Grant.STATUS_REFUSED, self.can_decline, workflow.refuse,
                                _('You have declined the grant. Thank you for letting us know.'))
        messages.error(request, _('We did not understand your answer. Please use the buttons on this page.'))
        return redirect(self.url)

    def _answer(self, request, status, may, action, success):
        """
        Give the grantee's answer to ``workflow``. The same answer twice (a double click, a second tab) is not an
        error and changes nothing the second time.
        """
        try:
            with transaction.atomic():
                # Decided under the grant's lock: a concurrent answer, the deadline or a redemption may have come first.
                self.grant = workflow.lock(self.grant)
                if self.grant.status != status:
                    if not may():
                        raise workflow.GrantTransitionError(_('Not allowed.'), self.grant)
                    action(self.grant, actor=workflow.GRANTEE)
        except workflow.GrantTransitionError:
            self.grant.refresh_from_db()
            return self._refused(request)
        messages.success(request, success)
        return redirect(self.url)

    def _refused(self, request):
        """Nothing was changed: say why, in the same words the page uses for the grant's state."""
        heading, text = self.status_texts()
        if self.grant.status == Grant.STATUS_CONFIRMED and voucher_used(self.grant):
            text = _('Your voucher has already been used. Please contact the organizers if you cannot come.')
        messages.error(request, _('Your answer was not saved. {reason}').format(reason=text or heading))
        return redirect(self.url)
