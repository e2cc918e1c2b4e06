from pretix.control.permissions import EventPermissionRequiredMixin

from ..permissions import MANAGE, VIEW


class PluginPageMixin(EventPermissionRequiredMixin):
    """
    What every page of the plugin's control panel shares: the plugin's "view" permission unless the page asks for
    more, and whether this user may also manage (the templates show the managers' buttons only then). Pages exist
    only where the event has the plugin switched on: control/urls.py guards every pattern.
    """
    permission = VIEW

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['can_manage'] = self.request.user.has_event_permission(
            self.request.organizer, self.request.event, MANAGE, request=self.request)
        return ctx
