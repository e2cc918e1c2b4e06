"""
What every page under a grant's secret link shares (the reply page, the claim and its receipts, the grant's letters):
the grant found by its secret, the grant's language, and no caching. Pages mix this in; they do not borrow it from
each other.
"""
import hmac

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from pretix.base.i18n import get_language_without_region
from pretix.base.middleware import (
    get_language_from_cookie, get_supported_language,
)
from pretix.multidomain.urlreverse import eventreverse
from pretix.presale.views import EventViewMixin

from .. import logentries
from ..models import Grant
from ..permissions import PERSONAL

# a team member looked at the grantee's page (read only)
VIEWED = 'pretix_grants.grant.reply_page.viewed'
# The part of the secret the database looks up; the rest is compared in constant time (see ``find_grant``).
SELECTOR_LENGTH = 16


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


def request_by_team_member(request):
    """An organizer looking at a grantee's page (e.g. from the grant's detail page) is not the grantee."""
    user = request.user
    return user.is_authenticated and user.has_event_permission(request.organizer, request.event, request=request)


@method_decorator(never_cache, name='dispatch')
class GrantPageMixin(EventViewMixin):
    """
    ``self.grant`` from the URL's ``secret`` (a 404 otherwise), in the grant's language, never cached. A signed-in
    team member sees the page read only, their visit logged with their name: what they do for a grantee they do from
    the control panel, where it is logged as theirs.
    """
    # a page showing passport data, payout details or receipts (the claim and letter pages): team members need the
    # personal data permission for it
    holds_personal_data = False

    def dispatch(self, request, *args, **kwargs):
        self.grant = find_grant(request.event, kwargs['secret'])
        if self.grant is None:
            raise Http404(_('This page does not exist. Please use the link from your email.'))
        self._activate_language()
        if request_by_team_member(request):
            if self.holds_personal_data and not request.user.has_event_permission(
                    request.organizer, request.event, PERSONAL, request=request):
                raise PermissionDenied(_('This page holds personal data of the grantee.'))
            if request.method not in ('GET', 'HEAD'):
                messages.error(request, _('You are signed in as a member of the organizer\'s team: this page '
                                          'answers only for the grantee. Please act for the grantee from the '
                                          'control panel.'))
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
        """The grant's reply page."""
        return eventreverse(self.request.event, 'plugins:pretix_grants:reply', kwargs={'secret': self.grant.secret})
