"""
Celery tasks, and the one place that queues work. Each task re-reads the grant under its lock and does nothing if
the work is done, so a task that is retried, delivered twice, or re-queued by the sweeper never gives a second
voucher or a second mail. The core below (``issuance``, ``workflow``, ``lifecycle``) never queues anything itself:
it sends the plugin's signals (``hooks``) after commit, and ``signals.py`` hands them to the ``queue_*`` functions
here.
"""
import json
import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled
from pretix.base.models import CachedFile, User
from pretix.base.services.locking import LockTimeoutException
from pretix.base.services.tasks import ProfiledEventTask
from pretix.celery_app import app

from . import issuance, lifecycle, mails, workflow
from .actors import auth_from_key
from .models import Grant, GrantMail

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


@app.task(base=ProfiledEventTask, bind=True, max_retries=10, acks_late=True)
def deliver_grant_mails(self, event, record_ids):
    """Hand owed mails (``mails.owe_voucher``) to pretix; each one exactly once, however often this runs."""
    try:
        mails.deliver_owed(record_ids)
    except TRANSIENT_ERRORS as e:
        logger.warning('Delivering owed grant mails %s failed, will retry: %s', record_ids, e)
        # those delivered meanwhile are no longer pending: a retry over the same list sends only the rest
        raise self.retry(args=(event.pk, record_ids), exc=e, countdown=backoff(self.request.retries))


def requeue_owed_mails():
    """Queue owed mails again that should have been handed to pretix by now (a lost message, a dead worker)."""
    with scopes_disabled():
        owed = list(GrantMail.objects.filter(pending=True, created__lt=now() - STALE_AFTER)
                    .values_list('grant__event_id', 'pk').order_by('pk'))
    by_event = {}
    for event_id, pk in owed:
        by_event.setdefault(event_id, []).append(pk)
    for event_id, pks in by_event.items():
        for start in range(0, len(pks), mails.MAIL_CHUNK):
            deliver_grant_mails.apply_async(args=(event_id, pks[start:start + mails.MAIL_CHUNK]))
    return len(owed)


def requeue_stale_issuance():
    """Queue issuance again for confirmed grants that should have their voucher by now but do not."""
    with scopes_disabled():
        stale = list(
            Grant.objects.due_for_voucher().filter(
                voucher_state=Grant.VOUCHER_NOT_ISSUED, modified__lt=now() - STALE_AFTER,
            ).values_list('event_id', 'pk')
        )
    for event_id, pk in stale:
        issue_grant_voucher.apply_async(args=(event_id, pk))
    return len(stale)


@app.task(base=ProfiledEventTask, acks_late=True)
def publish_grants(event, ids=None, user=None, auth=None, cfid=None):
    """
    Publish the staged decisions of ``event`` (or of the grants ``ids``), each in its own transaction, and store
    the per-grant outcome as JSON in the ``CachedFile`` ``cfid`` for the API to answer with.
    """
    user = User.objects.filter(pk=user).first() if user else None
    auth = auth_from_key(auth)
    grants = Grant.objects.filter(event=event)
    grants = grants.filter(pk__in=ids) if ids is not None else grants.filter(decision__isnull=False)
    results = []
    for grant in grants.order_by('pk'):
        grant.event = event
        try:
            workflow.publish(grant, user=user, auth=auth)
            results.append({'id': grant.pk, 'published': True, 'status': grant.status, 'detail': None})
        except workflow.GrantTransitionError as e:
            results.append({'id': grant.pk, 'published': False, 'status': grant.status, 'detail': str(e)})
    summary = {
        'published': sum(1 for r in results if r['published']),
        'failed': sum(1 for r in results if not r['published']),
        'results': results,
    }
    if cfid:
        cf = CachedFile.objects.filter(id=cfid).first()
        if cf is not None:
            cf.file.save('publish.json', ContentFile(json.dumps(summary).encode()))
    return summary


@app.task(base=ProfiledEventTask, bind=True, max_retries=10, acks_late=True)
def promote_waiting_list(self, event, freed_id):
    """Refill the place grant ``freed_id`` gave back; a worker's job, so the grantee's reply stays quick."""
    freed = Grant.objects.filter(pk=freed_id, event=event).select_related('event').first()
    if freed is None:
        return None
    try:
        promoted = lifecycle.promote_for(freed)
    except TRANSIENT_ERRORS as e:
        logger.warning('Promoting from the waiting list for grant %s failed, will retry: %s', freed_id, e)
        raise self.retry(args=(event.pk, freed_id), exc=e, countdown=backoff(self.request.retries))
    return promoted.pk if promoted else None


def queue_after_status_change(event, grant, old_status, new_status):
    """
    ``grant_status_changed`` (after commit): issue the voucher of a confirmed grant, refill a freed place. The
    status change is committed whatever happens here: a failed queueing is logged (the periodic sweep issues a
    stale voucher later), never turned into an error page.
    """
    if new_status == Grant.STATUS_CONFIRMED and grant.ticket:
        try:
            issue_grant_voucher.apply_async(args=(event.pk, grant.pk))
        except Exception:
            logger.exception('Queueing the voucher of grant %s failed; the sweep will queue it again', grant.pk)
    lifecycle.on_status_changed(grant, old_status, new_status)
    if lifecycle.frees_place(event, old_status, new_status):
        try:
            promote_waiting_list.apply_async(args=(event.pk, grant.pk))
        except Exception:
            logger.exception('Queueing the waiting-list promotion for grant %s failed', grant.pk)
            grant.log_action('pretix_grants.grant.place_not_refilled', data={
                'reason': str(_('the promotion could not be queued')), 'next_grant': None,
            })


def queue_owed_mails(event, record_ids):
    """``grant_mails_owed``: deliver owed mails in worker tasks of ``mails.MAIL_CHUNK`` mails each."""
    for start in range(0, len(record_ids), mails.MAIL_CHUNK):
        deliver_grant_mails.apply_async(args=(event.pk, record_ids[start:start + mails.MAIL_CHUNK]))
