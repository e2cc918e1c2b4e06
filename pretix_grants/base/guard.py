"""
The plugin's work inside pretix's own flows (checkout, order changes and cancellations, check-in, voucher edits and
deletions), from the core's receivers and the features' alike: it needs no scope, runs in a savepoint, and a failure
is logged, never raised into pretix's request or task.
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
