"""The feature's receivers: the sync by pretix's cron, the shredder."""
import logging

from django.dispatch import receiver
from django_scopes import scope, scopes_disabled
from pretix.base.models import Event
from pretix.base.signals import periodic_task, register_data_shredders

from ..permissions import PLUGIN
from . import rules
from .shredder import SpeakerShredder

logger = logging.getLogger(__name__)


@receiver(periodic_task, dispatch_uid='pretix_grants_speakers_sync')
def sync_speakers(sender, **kwargs):
    """Every event with the automatic sync on, every 15 minutes, and at the next run after a failed sync."""
    with scopes_disabled():  # as pretix's own periodic tasks: the events of every organizer
        events = list(Event.objects.filter(plugins__contains=PLUGIN).select_related('organizer'))
    for event in events:
        with scope(organizer=event.organizer):
            if PLUGIN not in event.get_plugins() or not rules.due(event):
                continue
            try:
                rules.sync(event)
            except Exception:  # one event's failure must not stop the others; pretalx errors are kept by sync()
                logger.exception('Syncing the speakers of event %s failed', event.pk)


@receiver(register_data_shredders, dispatch_uid='pretix_grants_speakers_shredder')
def speakers_data_shredder(sender, **kwargs):
    return SpeakerShredder
