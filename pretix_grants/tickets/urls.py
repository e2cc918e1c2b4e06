"""The own-ticket feature's URLs: the grantee's choice (shop), the retry (control panel), the REST resource."""
from django.urls import re_path
from pretix.multidomain import event_url

from ..control.urls import PREFIX, plugin_active_required
from . import control, views
from .api import GrantTicketViewSet

event_patterns = [
    event_url(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/ticket/$', views.ChoiceView.as_view(), name='tickets.choice',
              require_live=False),
]
urlpatterns = [
    re_path(PREFIX + r'(?P<grant>\d+)/ticket/retry/$', plugin_active_required(control.RetryRefund.as_view()),
            name='tickets.retry'),
]
api_routes = [(r'grant_tickets', GrantTicketViewSet, 'grant_tickets')]
