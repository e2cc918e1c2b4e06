"""
Webhook events for pretix's webhook registry. pretix sends them from the grants' log entries, after the
transaction that wrote the entry has committed.

A webhook is registered for an action type, or for a prefix ending in ``.*``; a log entry goes to the most
specific one. The status changes are logged as ``pretix_grants.grant.<new status>``, so "status changed" is the
prefix ``pretix_grants.grant.*`` and answers only for those; the other entries under it (decisions, mails)
get no payload and so no call.
"""
from django.utils.translation import gettext_lazy as _
from pretix.api.webhooks import ParametrizedWebhookEvent

from .models import Grant

STATUS_ACTIONS = {f'pretix_grants.grant.{s}': s for s, label in Grant.STATUS_CHOICES if s != Grant.STATUS_PENDING}
VOUCHER_ACTIONS = {f'pretix_grants.grant.voucher.{s}': s for s in Grant.VOUCHER_STATES_DONE}


class ActionsWebhookEvent(ParametrizedWebhookEvent):
    """A webhook event that answers only for ``actions`` (all action types under it, if None)."""

    def __init__(self, action_type, verbose_name, help_text='', actions=None):
        super().__init__(action_type, verbose_name, help_text)
        self.actions = actions


class GrantWebhookEvent(ActionsWebhookEvent):
    def build_payload(self, logentry):
        if self.actions is not None and logentry.action_type not in self.actions:
            return None
        grant = logentry.content_object
        data = logentry.parsed_data
        if logentry.action_type in STATUS_ACTIONS:
            new_status = data.get('new_status') or STATUS_ACTIONS[logentry.action_type]
        elif grant is not None:
            new_status = grant.status
        else:
            return None  # deleted meanwhile
        payload = {
            'notification_id': logentry.pk,
            'organizer': logentry.event.organizer.slug,
            'event': logentry.event.slug,
            'grant': logentry.object_id,
            'status': new_status,
            'action': logentry.action_type,
        }
        if logentry.action_type in STATUS_ACTIONS:
            payload['old_status'] = data.get('old_status')
        if logentry.action_type in VOUCHER_ACTIONS:
            payload['voucher_state'] = VOUCHER_ACTIONS[logentry.action_type]
        return payload


def webhook_events():
    return [
        GrantWebhookEvent('pretix_grants.grant.created', _('Grant created')),
        GrantWebhookEvent('pretix_grants.grant.changed', _('Grant changed')),
        GrantWebhookEvent(
            'pretix_grants.grant.*', _('Grant status changed'),
            _('A decision was published, or the grant was confirmed, refused, cancelled or expired.'),
            actions=STATUS_ACTIONS,
        ),
        GrantWebhookEvent(
            'pretix_grants.grant.voucher.*', _('Grant voucher issued'),
            _('A confirmed grant got its voucher: a new one, the grantee\'s own free voucher, or their voucher '
              'upgraded to a free ticket.'),
            actions=VOUCHER_ACTIONS,
        ),
    ]
