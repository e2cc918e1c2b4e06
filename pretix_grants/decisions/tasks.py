import logging

from django.db import InterfaceError, OperationalError
from pretix.base.services.locking import LockTimeoutException
from pretix.base.services.tasks import ProfiledEventTask
from pretix.celery_app import app

from ..models import Grant
from . import programme

logger = logging.getLogger(__name__)
TRANSIENT_ERRORS = (OperationalError, InterfaceError, LockTimeoutException)


@app.task(base=ProfiledEventTask, bind=True, max_retries=10, acks_late=True)
def second_round(self, event, freed_id):
    """Re-allocate what grant ``freed_id`` gave back; a worker's job, so the grantee's reply stays quick."""
    freed = Grant.objects.filter(pk=freed_id, event=event).select_related('event').first()
    if freed is None:
        return []
    try:
        return [g.pk for g in programme.second_round(freed)]
    except TRANSIENT_ERRORS as e:
        raise self.retry(args=(event.pk, freed_id), exc=e, countdown=min(10 * 2 ** self.request.retries, 600))


def queue_second_round(event, grant, old_status, new_status):
    if not programme.frees_money(event, old_status, new_status):
        return
    try:
        second_round.apply_async(args=(event.pk, grant.pk))
    except Exception:
        logger.exception('Queueing the second round for grant %s failed', grant.pk)
