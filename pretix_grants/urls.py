from pretix.api.urls import event_router
from pretix.multidomain import event_url

from . import applications, views
from .api import GrantViewSet
from .claims import views as claim_views
from .claims.api import ClaimViewSet
from .control.urls import urlpatterns as control_patterns
from .letters import views as letter_views
from .letters.api import LetterRequestViewSet

event_patterns = [
    # Grant offers often go out before the shop is live: the grantee's page works either way.
    event_url(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/$', views.ReplyView.as_view(), name='reply', require_live=False),
    # applications.py: the application form (open between the dates in the settings) and its thank-you page
    event_url(r'^grants/apply/$', applications.ApplyView.as_view(), name='apply', require_live=False),
    event_url(r'^grants/apply/thanks/$', applications.ApplyThanksView.as_view(), name='apply.thanks',
              require_live=False),
]

# the organizer control panel
urlpatterns = [*control_patterns]

# the REST API: /api/v1/organizers/{organizer}/events/{event}/grants/
event_router.register(r'grants', GrantViewSet)

# Visa invitation letters (letters.py): under the grant's or the order's secret URL, and the public verification
event_patterns += [
    event_url(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/letter/$', letter_views.GrantLetterView.as_view(),
              name='letter.grant', require_live=False),
    event_url(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/letter/(?P<reference>[A-Z0-9-]{1,32})/pdf/$',
              letter_views.GrantLetterPdf.as_view(), name='letter.grant.pdf', require_live=False),
    event_url(r'^order/(?P<order>[^/]+)/(?P<secret>[A-Za-z0-9]+)/letter/$', letter_views.OrderLetterView.as_view(),
              name='letter.order', require_live=False),
    event_url(r'^order/(?P<order>[^/]+)/(?P<secret>[A-Za-z0-9]+)/letter/(?P<reference>[A-Z0-9-]{1,32})/pdf/$',
              letter_views.OrderLetterPdf.as_view(), name='letter.order.pdf', require_live=False),
    event_url(r'^letters/verify/(?P<reference>[A-Za-z0-9-]{1,32})/$', letter_views.VerifyView.as_view(),
              name='letter.verify', require_live=False),
]
event_router.register(r'letter_requests', LetterRequestViewSet)

# claim_views.py: the grantee's reimbursement claim and its receipts, under the grant's secret page
event_patterns += [
    event_url(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/claim/$', claim_views.ClaimView.as_view(), name='claim',
              require_live=False),
    event_url(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/claim/receipt/(?P<receipt>[0-9]{1,18})/$',
              claim_views.ReceiptView.as_view(), name='claim.receipt', require_live=False),
]

# api_claims.py: /api/v1/organizers/{organizer}/events/{event}/grant_claims/
event_router.register(r'grant_claims', ClaimViewSet)
