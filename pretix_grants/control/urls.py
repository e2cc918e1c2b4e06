from functools import wraps

from django.http import Http404
from django.urls import re_path
from django.utils.translation import gettext_lazy as _

from ..claims import control as claims
from ..decisions import control as decisions
from ..insights import control as insights
from ..letters import control as letters
from ..permissions import plugin_active
from ..speakers import control as speakers
from ..tickets import control as tickets
from . import bulk, import_views, views

PREFIX = r'^control/event/(?P<organizer>[^/]+)/(?P<event>[^/]+)/grants/'

urlpatterns = [
    re_path(PREFIX + r'$', views.GrantList.as_view(), name='control.list'),
    re_path(PREFIX + r'add/$', views.GrantCreate.as_view(), name='control.add'),
    re_path(PREFIX + r'settings/$', views.GrantSettings.as_view(), name='control.settings'),
    re_path(PREFIX + r'settings/preview/(?P<key>[a-z_]+)/$', views.TemplatePreview.as_view(),
            name='control.preview'),
    re_path(PREFIX + r'import/$', import_views.ImportUpload.as_view(), name='control.import'),
    re_path(PREFIX + r'import/(?P<file>[0-9a-f-]{36})/$', import_views.ImportMap.as_view(), name='control.import.map'),
    re_path(PREFIX + r'bulk/$', bulk.BulkActionView.as_view(), name='control.bulk'),
    re_path(PREFIX + r'bulk/(?P<run>[0-9a-f-]{36})/$', bulk.BulkResult.as_view(), name='control.bulk.result'),
    re_path(PREFIX + r'review/next/$', views.NextUnreviewed.as_view(), name='control.review.next'),
    re_path(PREFIX + r'(?P<grant>\d+)/review/$', views.GrantReview.as_view(), name='control.review'),
    re_path(PREFIX + r'(?P<grant>\d+)/$', views.GrantDetail.as_view(), name='control.detail'),
    re_path(PREFIX + r'(?P<grant>\d+)/edit/$', views.GrantEdit.as_view(), name='control.edit'),
    re_path(PREFIX + r'(?P<grant>\d+)/action/$', views.GrantAction.as_view(), name='control.action'),
]


def plugin_active_required(view):
    """The control pages exist only on events with the plugin switched on, like the plugin's API and shop pages.

    pretix's control middleware has set request.event (and checked the user's access to it) before any view runs.
    """
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not plugin_active(request.event):
            raise Http404(_('The grants plugin is not enabled for this event.'))
        return view(request, *args, **kwargs)

    return wrapped


# Visa invitation letters (control/letters.py)
urlpatterns += [
    re_path(PREFIX + r'letters/$', letters.LetterList.as_view(), name='control.letters'),
    re_path(PREFIX + r'letters/settings/$', letters.LetterSettings.as_view(), name='control.letters.settings'),
    re_path(PREFIX + r'letters/settings/preview/(?P<key>[a-z_]+)/$', letters.LetterTemplatePreview.as_view(),
            name='control.letters.preview'),
    re_path(PREFIX + r'letters/bulk/$', letters.LetterBulkApprove.as_view(), name='control.letters.bulk'),
    re_path(PREFIX + r'letters/(?P<letter>\d+)/$', letters.LetterDetail.as_view(), name='control.letter'),
    re_path(PREFIX + r'letters/(?P<letter>\d+)/edit/$', letters.LetterEdit.as_view(), name='control.letter.edit'),
    re_path(PREFIX + r'letters/(?P<letter>\d+)/pdf/$', letters.LetterPdf.as_view(), name='control.letter.pdf'),
    re_path(PREFIX + r'letters/(?P<letter>\d+)/action/$', letters.LetterAction.as_view(), name='control.letter.action'),
]


# reimbursement claims (control/claims.py)
urlpatterns += [
    re_path(PREFIX + r'claims/$', claims.ClaimList.as_view(), name='control.claims'),
    re_path(PREFIX + r'claims/paid/$', claims.ClaimsPaid.as_view(), name='control.claims.paid'),
    re_path(PREFIX + r'claims/export/$', claims.PayoutExport.as_view(), name='control.claims.export'),
    re_path(PREFIX + r'claims/payouts/(?P<batch>\d+)/$', claims.BatchDetail.as_view(), name='control.payout'),
    re_path(PREFIX + r'claims/payouts/(?P<batch>\d+)/download/$', claims.BatchDownload.as_view(),
            name='control.payout.download'),
    re_path(PREFIX + r'claims/payouts/(?P<batch>\d+)/paid/$', claims.BatchPaid.as_view(), name='control.payout.paid'),
    re_path(PREFIX + r'claims/payouts/(?P<batch>\d+)/cancel/$', claims.BatchCancel.as_view(),
            name='control.payout.cancel'),
    re_path(PREFIX + r'claims/settings/$', claims.ClaimSettings.as_view(), name='control.claims.settings'),
    re_path(PREFIX + r'claims/(?P<claim>\d+)/$', claims.ClaimDetail.as_view(), name='control.claim'),
    re_path(PREFIX + r'claims/(?P<claim>\d+)/receipt/(?P<receipt>\d+)/$', claims.ClaimReceipt.as_view(),
            name='control.claim.receipt'),
]


# the person's own ticket (tickets/control.py)
urlpatterns += [
    re_path(PREFIX + r'(?P<grant>\d+)/ticket/retry/$', tickets.RetryRefund.as_view(), name='tickets.retry'),
]

# the Decide page and the conflicts of interest (decisions/control.py)
urlpatterns += [
    re_path(PREFIX + r'decide/$', decisions.Decide.as_view(), name='control.decide'),
    re_path(PREFIX + r'conflicts/$', decisions.Conflicts.as_view(), name='control.conflicts'),
]

# speakers from pretalx (speakers/control.py)
urlpatterns += [
    re_path(PREFIX + r'speakers/$', speakers.SpeakerSettings.as_view(), name='control.speakers'),
    re_path(PREFIX + r'speakers/action/$', speakers.SpeakerAction.as_view(), name='control.speakers.action'),
]


# insights: the statistics page, its settings and the post-event report (insights/control.py)
urlpatterns += [
    re_path(PREFIX + r'statistics/$', insights.InsightsView.as_view(), name='control.insights'),
    re_path(PREFIX + r'statistics/settings/$', insights.InsightsSettings.as_view(), name='control.insights.settings'),
    re_path(PREFIX + r'statistics/report/$', insights.ReportView.as_view(), name='control.insights.report'),
]


# one guard for every page of the control panel, so that a page added later cannot miss it
for pattern in urlpatterns:
    pattern.callback = plugin_active_required(pattern.callback)
