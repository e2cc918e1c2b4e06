"""
The plugin's work inside pretix's own flows (checkout, order changes and cancellations, check-in, voucher edits and
deletions), from the core's receivers and the features' alike: it needs no scope, runs in a savepoint, and a failure
is logged, never raised into pretix's request or task.

The plugin's data shredders run inside pretix's shredder task, one after the other with pretix's own: a failure of
the plugin's part is logged (and shown in the event's log), its own changes roll back, and pretix's other shredders
still run.
"""
import functools
import logging

from django.db import transaction
from django_scopes import scopes_disabled

logger = logging.getLogger('pretix_grants.signals')


def never_breaks_pretix(func):
    @functools.wraps(func)
    def guarded(*args, **kwargs):
        try:
            with scopes_disabled(), transaction.atomic():
                return func(*args, **kwargs)
        except Exception:
            logger.exception('The grants plugin failed in %s; pretix carries on', func.__name__)
            return None
    return guarded


def after_commit(func, *args):
    """Run ``func(*args)`` after the caller's commit, guarded as ``never_breaks_pretix``."""
    transaction.on_commit(lambda: never_breaks_pretix(func)(*args))


SHREDDER_FAILED = 'pretix_grants.shredder.failed'


def never_breaks_the_shredder(shred_data):
    """For the ``shred_data`` of the plugin's data shredders (each shreds in one transaction of its own)."""
    @functools.wraps(shred_data)
    def guarded(self, *args, **kwargs):
        progress = kwargs.get('progress_callback')
        if progress is not None:
            # pretix's progress report (a Celery state update) failing must not undo an erasure that worked
            kwargs['progress_callback'] = lambda value: _quietly(progress, value)
        try:
            with transaction.atomic():
                return shred_data(self, *args, **kwargs)
        except Exception:
            logger.exception('The grants plugin\'s shredder %s failed; pretix carries on', self.identifier)
            self.event.log_action(SHREDDER_FAILED, data={'shredder': str(self.verbose_name)})
            return None
    return guarded


def _quietly(func, *args):
    try:
        func(*args)
    except Exception:
        logger.warning('The shredder\'s progress could not be reported', exc_info=True)
