"""The plugin's team permissions, registered with pretix so they appear in each team's settings."""
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from pretix.base.permissions import PermissionGroup, PermissionOption

# the plugin's module name, as pretix lists it in an event's plugins
PLUGIN = 'pretix_grants'
GROUP = PLUGIN
VIEW = f'{GROUP}:read'
MANAGE = f'{GROUP}:write'
# score applications blind (reviews.py): a reviewer sees others' scores only after scoring the grant
REVIEW = f'{GROUP}:review'
# passports, birth dates, postal addresses, letter PDFs, IBANs, payout details and receipts: only with this
PERSONAL = f'{GROUP}:personal'


def plugin_active(event):
    """Whether ``event`` has the plugin switched on: nothing of the plugin answers on an event without it."""
    return PLUGIN in event.get_plugins()


def sees_personal_data(request):
    """Whether the request's user or API token may see the grantees' personal data (``PERSONAL``).

    pretix's control middleware and API permission check have put the event's permissions on the request."""
    return PERSONAL in getattr(request, 'eventpermset', ())


def may_manage(request):
    return MANAGE in getattr(request, 'eventpermset', ())


def permission_group():
    return PermissionGroup(
        name=GROUP,
        label=_('Grants'),
        actions=['read', 'write', 'review', 'personal'],
        options=[
            PermissionOption(actions=tuple(), label=pgettext_lazy('permission_level', 'No access')),
            PermissionOption(actions=('read',), label=pgettext_lazy('permission_level', 'View')),
            PermissionOption(actions=('read', 'write'), label=_('View and manage'),
                             help_text=_('Decide, publish, issue vouchers and change the grant settings.')),
            PermissionOption(actions=('read', 'review'), label=_('View and review'),
                             help_text=_('Score applications. Other reviewers\' scores show only after scoring.')),
            PermissionOption(actions=('read', 'review', 'write'), label=_('View, review and manage')),
            PermissionOption(actions=('read', 'write', 'personal'), label=_('View and manage, with personal data'),
                             help_text=_('Also passports, birth dates, postal addresses, invitation letters, bank '
                                         'accounts, payout details and receipts: for those who issue letters and '
                                         'pay claims.')),
            PermissionOption(actions=('read', 'review', 'write', 'personal'),
                             label=_('View, review and manage, with personal data')),
        ],
        help_text=_('Applications for financial aid, their decisions and grant vouchers.'),
    )
