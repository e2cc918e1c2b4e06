from django.urls import re_path
from pretix.api.urls import event_router

from . import views
from .api import GrantViewSet

event_patterns = [
    re_path(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/$', views.ReplyView.as_view(), name='reply'),
]

# the REST API: /api/v1/organizers/{organizer}/events/{event}/grants/
event_router.register(r'grants', GrantViewSet)
