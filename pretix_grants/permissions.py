"""The plugin's team permissions, registered with pretix so they appear in each team's settings."""
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from pretix.base.permissions import PermissionGroup, PermissionOption

GROUP = 'pretix_grants'
VIEW = f'{GROUP}:read'
MANAGE = f'{GROUP}:write'


def permission_group():
    return PermissionGroup(
        name=GROUP,
        label=_('Grants'),
        actions=['read', 'write'],
        options=[
            PermissionOption(actions=tuple(), label=pgettext_lazy('permission_level', 'No access')),
            PermissionOption(actions=('read',), label=pgettext_lazy('permission_level', 'View')),
            PermissionOption(actions=('read', 'write'), label=_('View and manage'),
                             help_text=_('Decide, publish, issue vouchers and change the grant settings.')),
        ],
        help_text=_('Applications for financial aid, their decisions and grant vouchers.'),
    )
