"""
Celery tasks. Each re-reads the grant under its lock and does nothing if the work is done, so a task that is
retried, delivered twice, or re-queued by the sweeper never gives a second voucher or a second mail.
"""
import logging
from datetime import timedelta

from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.services.locking import LockTimeoutException
from pretix.base.services.tasks import ProfiledEventTask
from pretix.celery_app import app

from . import issuance
from .models import Grant

logger = logging.getLogger(__name__)

# connection lost, deadlock or serialisation failure, lock wait timed out: worth another try
TRANSIENT_ERRORS = (OperationalError, InterfaceError, LockTimeoutException)
# Confirmed grants left without a voucher this long are queued again (a lost message, a worker that died).
STALE_AFTER = timedelta(minutes=10)


def backoff(retries):
    """10 s, 20 s, 40 s, ... capped at 10 minutes."""
    return min(10 * 2 ** retries, 600)


@app.task(base=ProfiledEventTask, bind=True, max_retries=10, acks_late=True)
def issue_grant_voucher(self, event, grant_id):
    try:
        issuance.issue_voucher(grant_id, event=event)
    except Grant.DoesNotExist:
        return  # deleted meanwhile: nothing to issue
    except TRANSIENT_ERRORS as e:
        logger.warning('Issuing the voucher of grant %s failed, will retry: %s', grant_id, e)
        # EventTask handed us the Event object: a retry must carry its id again
        raise self.retry(args=(event.pk, grant_id), exc=e, countdown=backoff(self.request.retries))


def requeue_stale_issuance():
    """Queue issuance again for confirmed grants that should have their voucher by now but do not."""
    with scopes_disabled():
        stale = list(
            Grant.objects.filter(
                Q(status=Grant.STATUS_CONFIRMED) & Q(ticket=True) & Q(voucher_state=Grant.VOUCHER_NOT_ISSUED)
                & Q(modified__lt=now() - STALE_AFTER)
            ).values_list('event_id', 'pk')
        )
    for event_id, pk in stale:
        issue_grant_voucher.apply_async(args=(event_id, pk))
    return len(stale)
