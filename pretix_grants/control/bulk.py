"""
Bulk actions on many grants, as a pretix asynchronous task with pretix's progress page.

Each grant is handled in its own transaction, through the same ``actions.run`` as the detail page's buttons; one
failing grant never stops the rest. The outcome per grant (done, skipped and why, failed and why) is stored as a
``CachedFile`` named by the form's run id, so submitting the same form twice shows the first run's result instead
of running again; and every action skips the grants it has nothing left to do for, so a second run of the same
action over the same grants finds nothing new to do (resend and remind excepted: sending again is their point).
"""
import json
import logging
import uuid
from datetime import timedelta

from django.contrib import messages
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.utils.timezone import now
from django.utils.translation import gettext as _, gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from pretix.base.models import CachedFile, User
from pretix.base.services.tasks import ProfiledEventTask
from pretix.base.views.tasks import AsyncAction
from pretix.celery_app import app

from .. import issuance, mails, reviews, workflow
from ..base.pages import PluginPageMixin
from ..models import Grant
from ..permissions import MANAGE
from . import actions
from .forms import BULK_CHOICES, BulkForm
from .views import filtered_grants, grant_url

logger = logging.getLogger(__name__)
DONE, SKIPPED, FAILED = 'done', 'skipped', 'failed'


# grants per transaction of the batched issuance
ISSUE_BATCH = 250


def run_bulk(event, action, grant_ids, *, user=None, decision=None, progress=None):
    """Run ``action`` on each grant of ``event`` in ``grant_ids``; returns one result row per grant."""
    if action == actions.ISSUE:
        return run_issue(event, grant_ids, user=user, progress=progress)
    return run_each(event, action, grant_ids, user=user, decision=decision, progress=progress)


def run_issue(event, grant_ids, *, user=None, progress=None, deliver_here=True):
    """
    Issue vouchers with ``issuance.issue_vouchers``, ``ISSUE_BATCH`` grants per transaction, with the same result
    rows as one grant at a time. A batch that fails as a whole is run again one grant at a time, so one grant's
    failure never stops the rest. The mails owed are queued for the workers; with ``deliver_here`` this process
    then helps render them.
    """
    ids = list(grant_ids)
    grants = Grant.objects.filter(event=event, pk__in=ids).in_bulk()
    ids = [pk for pk in ids if pk in grants]
    results = []
    for start in range(0, len(ids), ISSUE_BATCH):
        chunk = ids[start:start + ISSUE_BATCH]
        rows, due = {}, []
        for pk in chunk:
            g = grants[pk]
            rows[pk] = {'grant': pk, 'name': g.name, 'email': g.email}
            reason = actions.issue_skip_reason(g)
            if reason:
                rows[pk].update(result=SKIPPED, message=str(reason))
            else:
                due.append(pk)
        try:
            after = issuance.issue_vouchers(event, due, user=user) if due else {}
        except Exception:
            logger.exception('Batched issuance failed; issuing one grant at a time')
            for row in run_each(event, actions.ISSUE, due, user=user):
                rows[row['grant']] = row
        else:
            for pk in due:
                g = after.get(pk)
                if g is None:  # deleted meanwhile
                    rows.pop(pk)
                elif g.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION:
                    rows[pk].update(result=FAILED, message=g.voucher_attention)
                elif g.voucher_state in Grant.VOUCHER_STATES_DONE:
                    rows[pk].update(result=DONE, message='')
                else:  # changed meanwhile (refused, cancelled)
                    rows[pk].update(result=SKIPPED, message=str(actions.issue_skip_reason(g) or ''))
        results.extend(rows[pk] for pk in chunk if pk in rows)
        if progress:
            progress(100 * min(start + ISSUE_BATCH, len(ids)) / len(ids))
    # every voucher is committed and its mail owed; render mails here too rather than leave it all to the workers
    if deliver_here:
        mails.deliver_pending(r['grant'] for r in results if r['result'] == DONE)
    return results


def run_each(event, action, grant_ids, *, user=None, decision=None, progress=None):
    """Run ``action`` on each grant, each in its own transaction."""
    results = []
    ids = list(grant_ids)
    for n, pk in enumerate(ids):
        grant = Grant.objects.filter(event=event, pk=pk).first()
        if grant is None:
            continue
        grant.event = event
        row = {'grant': pk, 'name': grant.name, 'email': grant.email}
        try:
            with transaction.atomic():
                actions.run(grant, action, user=user, decision=decision)
        except actions.Skipped as e:
            row.update(result=SKIPPED, message=str(e))
        except (workflow.GrantTransitionError, ValueError) as e:
            row.update(result=SKIPPED, message=str(e))
        except Exception as e:  # one grant's failure must not stop the rest
            logger.exception('Bulk action %s failed for grant %s', action, pk)
            row.update(result=FAILED, message=str(e) or e.__class__.__name__)
        else:
            if action == actions.ISSUE and grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION:
                row.update(result=FAILED, message=grant.voucher_attention)
            else:
                row.update(result=DONE, message='')
        results.append(row)
        if progress and (n % 10 == 0):
            progress(100 * (n + 1) / len(ids))
    return results


def store_result(event, run_id, action, results, session_key=None):
    cf = CachedFile(id=run_id, expires=now() + timedelta(days=7), date=now(), filename='grants-bulk.json',
                    type='application/json', web_download=False, session_key=None)
    cf.file.save('grants-bulk.json', ContentFile(json.dumps({
        'event': event.pk, 'action': action, 'results': results,
    }).encode()), save=False)
    cf.save()
    return cf


def load_result(event, run_id):
    cf = CachedFile.objects.filter(id=run_id).first()
    if not cf or not cf.file:
        return None
    try:
        with cf.file.open('rb') as f:
            data = json.loads(f.read().decode())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get('event') != event.pk:
        return None
    return data


@app.task(base=ProfiledEventTask, bind=True)
def bulk_action(self, event, *, action, grant_ids, run_id, user=None, decision=None):
    user = User.objects.filter(pk=user).first() if user else None
    if load_result(event, run_id):
        return run_id

    def progress(value):
        if not self.request.called_directly:
            try:
                self.update_state(state='PROGRESS', meta={'value': value})
            except Exception:  # a result backend that cannot take progress is no reason to stop
                pass

    results = run_bulk(event, action, grant_ids, user=user, decision=decision, progress=progress)
    store_result(event, run_id, action, results)
    return run_id


class BulkActionView(PluginPageMixin, AsyncAction, View):
    permission = MANAGE
    task = bulk_action
    known_errortypes = ['GrantTransitionError']

    def get_success_url(self, value):
        return grant_url(self.request.event, 'bulk.result', run=value)

    def get_error_url(self):
        return grant_url(self.request.event, 'list')

    def get_success_message(self, value):
        return None

    def post(self, request, *args, **kwargs):
        form = BulkForm(data=request.POST)
        if not form.is_valid():
            for errs in form.errors.values():
                for e in errs:
                    messages.error(request, e)
            url = grant_url(request.event, 'list')
            if request.POST.get('filter'):
                url += '?' + request.POST['filter']
            return self._redirect(url, success=False)
        d = form.cleaned_data
        if d['operation'] == actions.WAITLIST:
            # "the rest": what the filter shows, less the selected grants
            _f, qs = filtered_grants(request.event, QueryDict(d['filter'] or ''), user=request.user,
                                     blind=reviews.reviewer_in_control(request))
            ids = [pk for pk in qs.values_list('pk', flat=True) if pk not in set(d['grant'] or [])]
        elif d['scope'] == 'all':
            _f, qs = filtered_grants(request.event, QueryDict(d['filter'] or ''), user=request.user,
                                     blind=reviews.reviewer_in_control(request))
            ids = list(qs.values_list('pk', flat=True))
        else:
            ids = list(Grant.objects.filter(event=request.event, pk__in=d['grant']).order_by('created', 'pk')
                       .values_list('pk', flat=True))
        # the same form sent twice (a double click, a reload) is one run; another action from the same page
        # (after going back) is a new one
        run_id = str(uuid.uuid5(d['run'], json.dumps([d['operation'], d['decision'] or None, d['scope'], d['filter'],
                                                      sorted(d['grant'] or [])])))
        if load_result(request.event, run_id):
            return self._redirect(self.get_success_url(run_id))
        return self.do(request.event.pk, action=d['operation'], grant_ids=ids, run_id=run_id,
                       user=request.user.pk, decision=d['decision'] or None)

    def _redirect(self, url, success=True):
        # pretix's progress dialog posts with ajax=1 and follows a JSON answer's redirect
        if 'ajax' in self.request.POST or 'ajax' in self.request.GET:
            return JsonResponse({'ready': True, 'success': success, 'redirect': url, 'message': ''})
        return redirect(url)


class BulkResult(PluginPageMixin, TemplateView):
    template_name = 'pretix_grants/control/bulk_result.html'

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        try:
            run_id = str(uuid.UUID(self.kwargs['run']))
        except ValueError:
            raise Http404()
        data = load_result(self.request.event, run_id)
        if data is None:
            raise Http404(gettext_lazy('This result is not available (any more).'))
        rows = data['results']
        ctx['action'] = dict(BULK_CHOICES).get(data['action'], data['action'])
        ctx['rows'] = rows
        ctx['counts'] = {k: sum(1 for r in rows if r['result'] == k) for k in (DONE, SKIPPED, FAILED)}
        ctx['labels'] = {DONE: _('done'), SKIPPED: _('skipped'), FAILED: _('failed')}
        return ctx
