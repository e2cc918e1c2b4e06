"""
Retention: the most sensitive personal data the plugin holds (passport data and dates of birth of the visa letters,
IBANs, payout details and receipts of the claims) is erased without anyone remembering to, a number of days
(``grants_retention_days``, 90 by default) after it was last needed: after the claim deadline for the claims, after
the event's end for the letters. pretix's periodic task runs each feature's erasure, which is its data shredder's own
code (claims/shredder.py, letters/shredder.py), and logs what went, as counts.

This module holds what both share: the setting and when an event's data is due.
"""
from datetime import timedelta

SETTING = 'grants_retention_days'
# the bounds of the setting (control/forms.py): up to ten years
MAX_DAYS = 3650


def event_end(event):
    """The event's end; an event series ends with its last date."""
    if event.has_subevents:
        last = max((se.date_to or se.date_from for se in event.subevents.all()), default=None)
        if last is not None:
            return last
    return event.date_to or event.date_from


def erase_after(event, since):
    """When the data last needed at ``since`` is due for erasure in ``event``."""
    return since + timedelta(days=event.settings.get(SETTING, as_type=int))


def due(event, since, at):
    return at >= erase_after(event, since)
