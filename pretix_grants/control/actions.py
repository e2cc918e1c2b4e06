"""
What an organizer may do with one grant from the control panel, and doing it.

The detail page shows a button only for what ``available`` returns, the action view and the bulk task both run
``run``: so the state machine (``workflow``), the issuance service and the mail module stay the only places that
change a grant; this module only asks them what is allowed and calls them.
"""
from django.db import transaction
from django.utils.translation import gettext as _, gettext_lazy

from .. import issuance, mails, workflow
from ..models import Grant

STAGE = 'stage'
PUBLISH = 'publish'
CONFIRM = 'confirm'
REFUSE = 'refuse'
CANCEL = 'cancel'
ISSUE = 'issue'
RESEND = 'resend'
REMIND = 'remind'
LINK = 'link'
# deciding from the review ranking (reviews.py)
APPROVE_REQUESTED = 'approve_requested'
WAITLIST = 'waitlist_rest'


AMOUNT_LABELS = {'travel_amount': gettext_lazy('travel'), 'accommodation_amount': gettext_lazy('accommodation'),
                 'other_amount': gettext_lazy('other')}


# how an action ended for one grant, as the bulk result page shows it
DONE, SKIPPED, FAILED = 'done', 'skipped', 'failed'


class Skipped(Exception):
    """Nothing to do for this grant; the message says why."""


def issue_skip_reason(grant):
    """Why issuing has nothing to do for ``grant``, or ``None`` if it is due."""
    if grant.voucher_state in Grant.VOUCHER_STATES_DONE:
        return _('The grant already has its voucher.')
    if grant.status != Grant.STATUS_CONFIRMED:
        return _('Only a confirmed grant gets a voucher.')
    if not grant.ticket:
        return _('This grant does not include a ticket.')
    return None


def issue_outcome(grant):
    """
    How issuing ended for ``grant`` as it is afterwards, as ``(DONE|SKIPPED|FAILED, message)``: a voucher that could
    not be issued leaves the grant needing attention, with the reason; a grant changed meanwhile (refused, cancelled)
    was skipped, with the reason.
    """
    if grant.voucher_state == Grant.VOUCHER_NEEDS_ATTENTION:
        return FAILED, grant.voucher_attention
    if grant.voucher_state in Grant.VOUCHER_STATES_DONE:
        return DONE, ''
    return SKIPPED, str(issue_skip_reason(grant) or '')


def available(grant):
    """The actions the state machine allows for ``grant`` now."""
    acts = set()
    if workflow.allowed_decisions(grant) or grant.decision:
        acts.add(STAGE)
    if grant.decision and workflow.allowed(grant, grant.decision, workflow.ORGANIZER):
        acts.add(PUBLISH)
    if workflow.allowed(grant, Grant.STATUS_CONFIRMED, workflow.ORGANIZER):
        acts.add(CONFIRM)
    if workflow.allowed(grant, Grant.STATUS_REFUSED, workflow.ORGANIZER):
        acts.add(REFUSE)
    if workflow.allowed(grant, Grant.STATUS_CANCELLED, workflow.ORGANIZER):
        acts.add(CANCEL)
    if grant.is_due_for_voucher():
        acts.add(ISSUE)
    if grant.may_link_voucher():
        # also before they confirm: an organizer may note a voucher the person already holds
        acts.add(LINK)
    if grant.holds_voucher():
        acts.add(RESEND)
    if grant.status == Grant.STATUS_APPROVED:
        acts.add(REMIND)
    return acts


def run(grant, action, *, user=None, auth=None, decision=None, reason=None, code=None):
    """
    Do ``action`` on ``grant``. Raises ``Skipped`` when there is nothing to do, ``GrantTransitionError`` (or
    ``ValueError``) when it is not allowed; in both cases nothing has changed.
    """
    kw = {'user': user, 'auth': auth}
    if action == STAGE:
        decision = decision or None
        if grant.decision == decision:
            raise Skipped(_('This decision is already staged.') if decision else _('No decision is staged.'))
        return workflow.stage_decision(grant, decision, **kw)
    if action == PUBLISH:
        if not grant.decision:
            raise Skipped(_('There is no staged decision to publish.'))
        return workflow.publish(grant, **kw)
    if action == CONFIRM:
        if grant.status == Grant.STATUS_CONFIRMED:
            raise Skipped(_('The grant is already confirmed.'))
        return workflow.confirm(grant, actor=workflow.ORGANIZER, reason=reason, **kw)
    if action == REFUSE:
        if grant.status == Grant.STATUS_REFUSED:
            raise Skipped(_('The grant is already refused.'))
        return workflow.refuse(grant, actor=workflow.ORGANIZER, reason=reason, **kw)
    if action == CANCEL:
        if grant.status == Grant.STATUS_CANCELLED:
            raise Skipped(_('The grant is already cancelled.'))
        return workflow.cancel(grant, reason=reason, **kw)
    if action == ISSUE:
        reason = issue_skip_reason(grant)
        if reason:
            raise Skipped(reason)
        # a voucher that cannot be issued leaves the grant flagged as needing attention, with the reason
        g = issuance.issue_voucher(grant, event=grant.event, **kw)
        grant.take_values_of(g)
        return grant
    if action == RESEND:
        if not grant.holds_voucher():
            raise Skipped(_('This grant has no voucher to send.'))
        mails.resend_voucher(grant, **kw)
        return grant
    if action == REMIND:
        if grant.status != Grant.STATUS_APPROVED:
            raise Skipped(_('Only a grant waiting for the grantee\'s reply gets a reminder.'))
        mails.send_reminder(grant, **kw)
        return grant
    if action == APPROVE_REQUESTED:
        return approve_requested(grant, **kw)
    if action == WAITLIST:
        if grant.decision:
            raise Skipped(_('This grant already has a staged decision.'))
        return workflow.stage_decision(grant, Grant.STATUS_WAITING_LIST, **kw)
    if action == LINK:
        if LINK not in available(grant):
            raise workflow.GrantTransitionError(_('A voucher cannot be linked to this grant now.'), grant)
        return issuance.link_voucher(grant, code, **kw)
    raise ValueError(_('Unknown action.'))


def approve_requested(grant, *, user=None, auth=None):
    """Stage "approve" with the granted amounts and ticket set to what the applicant asked for."""
    with transaction.atomic():
        g = workflow.lock(grant)
        workflow.check_transition(g, Grant.STATUS_APPROVED, workflow.ORGANIZER)
        wanted = {'ticket': g.requested_ticket, 'travel_amount': g.requested_travel,
                  'accommodation_amount': g.requested_accommodation, 'other_amount': g.requested_other}
        changed = {k: v for k, v in wanted.items() if getattr(g, k) != v}
        lower = [k for k in changed if k != 'ticket' and changed[k] < getattr(g, k)]
        if lower:
            # e.g. amounts imported as granted with nothing requested: never lower them silently
            raise Skipped(_('The requested amounts are lower than the granted ones ({amounts}); nothing was '
                            'changed. Edit the grant to decide its amounts.').format(amounts=', '.join(
                                f'{AMOUNT_LABELS[k]}: {getattr(g, k)} → {changed[k]}' for k in lower)))
        if g.decision == Grant.STATUS_APPROVED and not changed:
            raise Skipped(_('This decision is already staged.'))
        if changed:
            g = workflow.change_fields(g, changed, user=user, auth=auth)
        g = workflow.stage_decision(g, Grant.STATUS_APPROVED, user=user, auth=auth)
    grant.take_values_of(g)
    return grant
