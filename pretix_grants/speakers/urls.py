from django.urls import re_path

from ..control.urls import plugin_active_required
from . import control

PREFIX = r'^control/event/(?P<organizer>[^/]+)/(?P<event>[^/]+)/grants/speakers/'

urlpatterns = [
    re_path(PREFIX + r'$', control.SpeakerSettings.as_view(), name='control.speakers'),
    re_path(PREFIX + r'action/$', control.SpeakerAction.as_view(), name='control.speakers.action'),
]

for pattern in urlpatterns:
    pattern.callback = plugin_active_required(pattern.callback)
