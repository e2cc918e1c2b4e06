from django.urls import re_path

from . import views

event_patterns = [
    re_path(r'^grant/(?P<secret>[A-Za-z0-9_-]{1,64})/$', views.ReplyView.as_view(), name='reply'),
]

# organizer control panel
from .control.urls import urlpatterns as control_patterns  # NOQA: E402

urlpatterns = [*control_patterns]
