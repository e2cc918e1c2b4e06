"""The letters' webhook event: one for every step of a request."""
from django.utils.translation import gettext_lazy as _
from pretix.api.webhooks import ParametrizedWebhookEvent

LETTER_ACTIONS = {f'pretix_grants.letter.{s}' for s in ('requested', 'approved', 'rejected', 'cancelled', 'changed')}


class LetterWebhookEvent(ParametrizedWebhookEvent):
    """The request's id, reference and state; never passport data (fetch the request from the API for those)."""

    def build_payload(self, logentry):
        if logentry.action_type not in LETTER_ACTIONS:
            return None
        letter = logentry.content_object
        if letter is None:
            return None
        return {
            'notification_id': logentry.pk,
            'organizer': logentry.event.organizer.slug,
            'event': logentry.event.slug,
            'letter_request': logentry.object_id,
            'reference': letter.reference,
            'status': letter.status,
            'grant': letter.grant_id,
            'order': letter.order.code if letter.order_id else None,
            'action': logentry.action_type,
        }


def letter_webhook_events():
    return [
        LetterWebhookEvent(
            'pretix_grants.letter.*', _('Invitation letter request changed'),
            _('A visa invitation letter was requested, issued, rejected, withdrawn or corrected.'),
        ),
    ]
