"""What the plugin's REST resources (grants, claims, letter requests) share: pretix's filtering and ordering, the
plugin's permissions, and no resource at all on an event that has the plugin switched off."""
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from pretix.api.pagination import TotalOrderingFilter
from rest_framework.exceptions import NotFound

from ..permissions import MANAGE, VIEW, plugin_active


class PluginResourceMixin:
    filter_backends = (DjangoFilterBackend, TotalOrderingFilter)
    ordering = ('id',)
    lookup_value_regex = '[0-9]+'
    permission = VIEW
    write_permission = MANAGE

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # like the plugin's control pages: the resource exists only where the plugin is enabled
        if not plugin_active(request.event):
            raise NotFound(_('The grants plugin is not enabled for this event.'))
