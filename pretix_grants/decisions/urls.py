from django.urls import re_path
from pretix.multidomain import event_url

from ..control.urls import PREFIX, plugin_active_required
from . import control, views

urlpatterns = [
    re_path(PREFIX + r'decide/$', control.Decide.as_view(), name='control.decide'),
    re_path(PREFIX + r'conflicts/$', control.Conflicts.as_view(), name='control.conflicts'),
]
for pattern in urlpatterns:
    pattern.callback = plugin_active_required(pattern.callback)

event_patterns = [
    event_url(r'^grants/draws/(?P<draw>[0-9]{1,18})/$', views.DrawPage.as_view(), name='draw', require_live=False),
]
