from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from pretix.control.permissions import EventPermissionRequiredMixin

from ..permissions import MANAGE, VIEW, sees_personal_data


class PluginPageMixin(EventPermissionRequiredMixin):
    """
    What every page of the plugin's control panel shares: the plugin's "view" permission unless the page asks for
    more, and whether this user may also manage (the templates show the managers' buttons only then). Pages exist
    only where the event has the plugin switched on: control/urls.py guards every pattern.
    """
    permission = VIEW
    # the permissions a page needs beside ``permission``, all of them (e.g. manage and personal data)
    also_required = ()

    def dispatch(self, request, *args, **kwargs):
        held = getattr(request, 'eventpermset', ())
        if any(p not in held for p in self.also_required):
            raise PermissionDenied(_('You do not have permission to view this content.'))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['can_manage'] = self.request.user.has_event_permission(
            self.request.organizer, self.request.event, MANAGE, request=self.request)
        # passports, birth dates, addresses, letters, bank accounts, payout details, receipts (permissions.PERSONAL)
        ctx['sees_personal'] = sees_personal_data(self.request)
        return ctx
