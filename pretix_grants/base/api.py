"""What the plugin's REST resources (grants, claims, letter requests) share: pretix's filtering and ordering, the
plugin's permissions, and no resource at all on an event that has the plugin switched off."""
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from pretix.api.pagination import TotalOrderingFilter
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ..permissions import MANAGE, VIEW, plugin_active


def refused(detail, **state):
    """A 400 answer to an action the rules refused: their message, and the object's state as it is now."""
    return Response({'detail': str(detail), **state}, status=status.HTTP_400_BAD_REQUEST)


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
