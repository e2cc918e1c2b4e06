"""The claims' webhook events: their state changes, logged on the claim as ``pretix_grants.claim.<new state>``."""
from django.utils.translation import gettext_lazy as _

from ..webhooks import ActionsWebhookEvent

CLAIM_DECISIONS = ('approved', 'changes_requested', 'rejected')


class ClaimWebhookEvent(ActionsWebhookEvent):
    def build_payload(self, logentry):
        if self.actions is not None and logentry.action_type not in self.actions:
            return None
        claim = logentry.content_object
        if claim is None:
            return None
        data = logentry.parsed_data
        return {
            'notification_id': logentry.pk,
            'organizer': logentry.event.organizer.slug,
            'event': logentry.event.slug,
            'claim': logentry.object_id,
            'grant': claim.grant_id,
            'state': data.get('new_state') or claim.state,
            'old_state': data.get('old_state'),
            'action': logentry.action_type,
        }


def claim_webhook_events():
    return [
        ClaimWebhookEvent('pretix_grants.claim.submitted', _('Grant claim submitted')),
        ClaimWebhookEvent(
            'pretix_grants.claim.*', _('Grant claim decided'),
            _('A reimbursement claim was approved, rejected, or sent back for changes.'),
            actions={f'pretix_grants.claim.{s}' for s in CLAIM_DECISIONS},
        ),
        ClaimWebhookEvent('pretix_grants.claim.paid', _('Grant claim paid')),
    ]
