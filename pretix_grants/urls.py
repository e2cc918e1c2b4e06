from pretix.api.urls import event_router
from pretix.multidomain import event_url

from . import views
from .api import GrantViewSet
from .control.urls import urlpatterns as control_patterns

event_patterns = [
    # Grant offers often go out before the shop is live: the grantee's page works either way.
    event_url(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/$', views.ReplyView.as_view(), name='reply', require_live=False),
]

# the organizer control panel
urlpatterns = [*control_patterns]

# the REST API: /api/v1/organizers/{organizer}/events/{event}/grants/
event_router.register(r'grants', GrantViewSet)
