"""
Celery tasks. Each re-reads the grant under its lock and does nothing if the work is done, so a task that is
retried, delivered twice, or re-queued by the sweeper never gives a second voucher or a second mail.
"""
import json
import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.base.models import CachedFile, User
from pretix.base.services.locking import LockTimeoutException
from pretix.base.services.tasks import ProfiledEventTask
from pretix.celery_app import app

from . import issuance, workflow
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


@app.task(base=ProfiledEventTask, bind=True, max_retries=10, acks_late=True)
def deliver_grant_mails(self, event, record_ids):
    """Hand owed mails (``mails.owe_voucher``) to pretix; each one exactly once, however often this runs."""
    from . import mails

    try:
        mails.deliver_owed(record_ids)
    except TRANSIENT_ERRORS as e:
        logger.warning('Delivering owed grant mails %s failed, will retry: %s', record_ids, e)
        # those delivered meanwhile are no longer pending: a retry over the same list sends only the rest
        raise self.retry(args=(event.pk, record_ids), exc=e, countdown=backoff(self.request.retries))


def requeue_owed_mails():
    """Queue owed mails again that should have been handed to pretix by now (a lost message, a dead worker)."""
    from . import mails
    from .models import GrantMail

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
            Grant.objects.filter(
                Q(status=Grant.STATUS_CONFIRMED) & Q(ticket=True) & Q(voucher_state=Grant.VOUCHER_NOT_ISSUED)
                & Q(modified__lt=now() - STALE_AFTER)
            ).values_list('event_id', 'pk')
        )
    for event_id, pk in stale:
        issue_grant_voucher.apply_async(args=(event_id, pk))
    return len(stale)


def auth_key(auth):
    """An API token or OAuth token as (kind, pk), so a task can log with the same actor as the request."""
    from pretix.api.models import OAuthAccessToken
    from pretix.base.models import TeamAPIToken

    if isinstance(auth, TeamAPIToken):
        return ['token', auth.pk]
    if isinstance(auth, OAuthAccessToken):
        return ['oauth', auth.pk]
    return None


def auth_from_key(key):
    from pretix.api.models import OAuthAccessToken
    from pretix.base.models import TeamAPIToken

    if not key:
        return None
    model = {'token': TeamAPIToken, 'oauth': OAuthAccessToken}[key[0]]
    return model.objects.filter(pk=key[1]).first()


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
