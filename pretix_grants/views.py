"""
The grantee's reply page in the event's shop, reached only through the secret link in their mails.

Grantees are not pretix users: the link is their only key. The page tells them where their grant stands, lets them
confirm or decline an offer before its deadline, and shows their voucher once it exists. Every answer goes through
``workflow`` (which checks the state machine and the deadline and logs the answer with actor ``grantee``).
"""
import hmac

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from pretix.base.i18n import get_language_without_region
from pretix.base.middleware import (
    get_language_from_cookie, get_supported_language,
)
from pretix.multidomain.urlreverse import eventreverse
from pretix.presale.views import EventViewMixin

from . import issuance, logentries, workflow
from .mails import redeem_url
from .models import Grant
from .permissions import PERSONAL

# The part of the secret the database looks up; the rest is compared in constant time (see ``find_grant``).
SELECTOR_LENGTH = 16
OPENED = 'pretix_grants.grant.reply_page.opened'
# a team member looked at the grantee's page (read only)
VIEWED = 'pretix_grants.grant.reply_page.viewed'
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


def find_grant(event, secret):
    """
    The grant of ``event`` whose secret is ``secret``, or None.

    The secret is used like a selector/verifier token: the database is asked only for the grants of this event
    whose secret starts with the first ``SELECTOR_LENGTH`` characters (PostgreSQL serves ``LIKE 'prefix%'`` from
    the ``varchar_pattern_ops`` index Django creates for the unique column), and each candidate's full secret is
    compared with ``hmac.compare_digest``. Timing can at most tell an attacker whether a guessed selector exists,
    which opens nothing: the remaining 27 characters (about 160 bits) are only ever compared in constant time. A
    plain ``secret=...`` query would instead let the database's string comparison leak how much of a guess is
    right. Grants of other events never match, so another event's secret gives the same 404 as a made-up one.
    """
    if len(secret) < SELECTOR_LENGTH or len(secret) > Grant._meta.get_field('secret').max_length:
        return None
    found = None
    candidates = Grant.objects.filter(event=event, secret__startswith=secret[:SELECTOR_LENGTH]).select_related('voucher')
    for candidate in candidates:
        if hmac.compare_digest(candidate.secret.encode(), secret.encode()):
            found = candidate
    return found


def deadline_passed(grant):
    return grant.status == Grant.STATUS_APPROVED and bool(grant.reply_deadline) and now() > grant.reply_deadline


def status_texts(grant):
    """What the grantee's page says about the grant: (heading, explanation); also the control panel's preview."""
    if deadline_passed(grant):
        return DEADLINE_PASSED_TEXTS
    return STATUS_TEXTS.get(grant.status, (grant.get_status_display(), ''))


def voucher_used(grant):
    """Whether the grant's voucher has been used for an order (then withdrawing is a matter for the organizers)."""
    return issuance.voucher_used(grant)


@method_decorator(never_cache, name='dispatch')
class ReplyView(EventViewMixin, TemplateView):
    """
    GET shows the grant; POST ``action=confirm`` confirms, POST ``action=decline`` asks once more and
    ``action=decline`` with ``really=yes`` declines. Anything the state machine or the deadline does not allow
    is refused with a message and changes nothing.
    """
    template_name = 'pretix_grants/reply.html'
    # a page of the grantee's showing passport data, payout details or receipts (the claim and letter pages)
    holds_personal_data = False

    def dispatch(self, request, *args, **kwargs):
        self.grant = find_grant(request.event, kwargs['secret'])
        if self.grant is None:
            raise Http404(_('This page does not exist. Please use the link from your email.'))
        self._activate_language()
        if request_by_team_member(request):
            return self._team_member(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def _team_member(self, request, *args, **kwargs):
        """
        A signed-in team member sees the grantee's page read only, their visit logged with their name: what they do
        for a grantee they do from the control panel, where it is logged as theirs.
        """
        if self.holds_personal_data and not request.user.has_event_permission(
                request.organizer, request.event, PERSONAL, request=request):
            raise PermissionDenied(_('This page holds personal data of the grantee.'))
        if request.method not in ('GET', 'HEAD'):
            messages.error(request, _('You are signed in as a member of the organizer\'s team: this page answers '
                                      'only for the grantee. Please act for the grantee from the control panel.'))
            return redirect(self.url)
        if request.method == 'GET':
            logentries.save([self.grant.log_action(VIEWED, user=request.user, data={}, save=False)])
        return super().dispatch(request, *args, **kwargs)

    def _activate_language(self):
        """The grant's language, unless the visitor picked one with the language switcher (pretix's cookie)."""
        request, settings = self.request, self.request.event.settings
        chosen = get_language_from_cookie(request)
        if chosen and (chosen in settings.locales or chosen.split('-')[0] in settings.locales):
            return
        lang = get_supported_language(self.grant.locale or settings.locale, settings.locales, settings.locale)
        if '-' not in lang and settings.region:
            lang += '-' + settings.region
        translation.activate(lang)
        request.LANGUAGE_CODE = get_language_without_region()

    @property
    def url(self):
        return eventreverse(self.request.event, 'plugins:pretix_grants:reply', kwargs={'secret': self.grant.secret})

    def deadline_passed(self):
        return deadline_passed(self.grant)

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


def request_by_team_member(request):
    """An organizer looking at a grantee's page (e.g. from the grant's detail page) is not the grantee."""
    user = request.user
    return user.is_authenticated and user.has_event_permission(request.organizer, request.event, request=request)
