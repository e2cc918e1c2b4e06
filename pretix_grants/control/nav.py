from django.urls import resolve, reverse
from django.utils.translation import gettext_lazy as _

from ..permissions import MANAGE, REVIEW, VIEW


def nav_event(request):
    """The "Grants" entry in the event's sidebar, for teams allowed to see grants."""
    event = request.event
    if not request.user.has_event_permission(request.organizer, event, VIEW, request=request):
        return []
    url = resolve(request.path_info)
    name = url.url_name or ''
    ours = url.namespace == 'plugins:pretix_grants'
    kw = {'organizer': event.organizer.slug, 'event': event.slug}
    children = [{
        'label': _('All grants'),
        'url': reverse('plugins:pretix_grants:control.list', kwargs=kw),
        'active': ours and name in ('control.list', 'control.detail', 'control.edit', 'control.bulk.result'),
    }]
    children.append({
        # pretix's export page, with the plugin's exporter chosen
        'label': _('Export'),
        'url': reverse('control:event.orders.export', kwargs=kw) + '?identifier=pretix_grants',
        'active': False,
    })
    if request.user.has_event_permission(request.organizer, event, REVIEW, request=request):
        children.append({
            'label': _('Review applications'),
            'url': reverse('plugins:pretix_grants:control.review.next', kwargs=kw),
            'active': ours and name.startswith('control.review'),
        })
    if request.user.has_event_permission(request.organizer, event, REVIEW, request=request):
        # decisions/
        children.append({
            'label': _('Conflicts of interest'),
            'url': reverse('plugins:pretix_grants:control.conflicts', kwargs=kw),
            'active': ours and name == 'control.conflicts',
        })
    if request.user.has_event_permission(request.organizer, event, MANAGE, request=request):
        children.append({  # decisions/
            'label': _('Decide'),
            'url': reverse('plugins:pretix_grants:control.decide', kwargs=kw),
            'active': ours and name == 'control.decide',
        })
        children += [{
            'label': _('Add a grant'),
            'url': reverse('plugins:pretix_grants:control.add', kwargs=kw),
            'active': ours and name == 'control.add',
        }, {
            'label': _('Import'),
            'url': reverse('plugins:pretix_grants:control.import', kwargs=kw),
            'active': ours and name.startswith('control.import'),
        }, {
            'label': _('Settings'),
            'url': reverse('plugins:pretix_grants:control.settings', kwargs=kw),
            'active': ours and name.startswith('control.settings'),
        }]
    letters = letters_nav(request)
    if letters:
        children.insert(1, letters)
    # reimbursement claims (control/claims.py)
    children.append({
        'label': _('Reimbursement claims'),
        'url': reverse('plugins:pretix_grants:control.claims', kwargs=kw),
        'active': ours and name.startswith('control.claim'),
    })
    if request.user.has_event_permission(request.organizer, event, MANAGE, request=request):
        # speakers from pretalx (speakers/)
        children.append({
            'label': _('Speakers from pretalx'),
            'url': reverse('plugins:pretix_grants:control.speakers', kwargs=kw),
            'active': ours and name.startswith('control.speakers'),
        })
    # insights/control.py: statistics and the post-event report
    children.append({
        'label': _('Statistics'),
        'url': reverse('plugins:pretix_grants:control.insights', kwargs=kw),
        'active': ours and name.startswith('control.insights'),
    })
    return [{
        'label': _('Grants'),
        'url': children[0]['url'],
        'icon': 'graduation-cap',
        'active': False,
        'children': children,
    }]


def letters_nav(request):
    """The "Invitation letters" entry under "Grants", for teams allowed to see grants."""
    event = request.event
    if not request.user.has_event_permission(request.organizer, event, VIEW, request=request):
        return None
    url = resolve(request.path_info)
    return {
        'label': _('Invitation letters'),
        'url': reverse('plugins:pretix_grants:control.letters',
                       kwargs={'organizer': event.organizer.slug, 'event': event.slug}),
        'active': url.namespace == 'plugins:pretix_grants' and (url.url_name or '').startswith('control.letter'),
    }
