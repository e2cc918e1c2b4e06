"""
The grant state machine: the one table of allowed transitions, and the actions that move a grant along it.

Every change of a grant's status goes through ``change_status``: it locks the grant's row, checks the table,
applies the change, writes pretix's log and, after commit, sends ``grant_status_changed``. The actions below
(publish, confirm, refuse, cancel, expire) add what each transition brings with it: a mail, a voucher, a release.
"""
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from . import issuance, mails
from .actors import (  # NOQA: F401 (workflow.GRANTEE etc. for its callers)
    GRANTEE, ORGANIZER, SYSTEM,
)
from .hooks import grant_status_changed
from .models import Grant

S = Grant
TRANSITIONS = {
    # (from, to): who may make it
    (S.STATUS_PENDING, S.STATUS_APPROVED): {ORGANIZER},
    (S.STATUS_PENDING, S.STATUS_WAITING_LIST): {ORGANIZER},
    (S.STATUS_PENDING, S.STATUS_REJECTED): {ORGANIZER},
    (S.STATUS_WAITING_LIST, S.STATUS_APPROVED): {ORGANIZER, SYSTEM},
    (S.STATUS_WAITING_LIST, S.STATUS_REJECTED): {ORGANIZER},
    (S.STATUS_WAITING_LIST, S.STATUS_CANCELLED): {ORGANIZER},
    (S.STATUS_APPROVED, S.STATUS_CONFIRMED): {GRANTEE, ORGANIZER},
    (S.STATUS_APPROVED, S.STATUS_REFUSED): {GRANTEE, ORGANIZER},
    (S.STATUS_APPROVED, S.STATUS_EXPIRED): {SYSTEM},
    (S.STATUS_APPROVED, S.STATUS_CANCELLED): {ORGANIZER},
    (S.STATUS_CONFIRMED, S.STATUS_REFUSED): {GRANTEE, ORGANIZER},
    (S.STATUS_CONFIRMED, S.STATUS_CANCELLED): {ORGANIZER},
    # a new offer, with a fresh deadline, to someone who missed the first one
    (S.STATUS_EXPIRED, S.STATUS_APPROVED): {ORGANIZER},
}
DECISIONS = {status for status, label in Grant.DECISION_CHOICES}


class GrantTransitionError(Exception):
    """A change the state machine does not allow; nothing was changed."""

    def __init__(self, message, grant=None):
        super().__init__(message)
        self.message = str(message)
        self.grant = grant

    def __str__(self):
        return self.message


class ReplyDeadlinePassed(GrantTransitionError):
    pass


class DuplicateGrant(ValueError):
    """The event already has a grant for this email address."""

    def __init__(self, existing=None):
        super().__init__(str(_('There already is a grant for this email address in this event.')))
        self.existing = existing


class DateFixed(ValueError):
    """The grant's voucher is issued for its date, so the date can no longer change."""

    def __init__(self):
        super().__init__(str(_('The date cannot be changed: the grant\'s voucher has already been issued for the '
                               'current date.')))


def allowed(grant, new_status, actor):
    return actor in TRANSITIONS.get((grant.status, new_status), ())


def allowed_decisions(grant):
    """The decisions an organizer may stage for this grant now."""
    return [d for d in Grant.DECISION_CHOICES if allowed(grant, d[0], ORGANIZER)]


def check_transition(grant, new_status, actor, at=None):
    if not allowed(grant, new_status, actor):
        raise GrantTransitionError(
            _('A grant that is "{current}" cannot become "{new}" ({actor}).').format(
                current=Grant.status_label(grant.status), new=Grant.status_label(new_status), actor=actor,
            ),
            grant,
        )
    if actor == GRANTEE and grant.reply_deadline_passed(at):
        raise ReplyDeadlinePassed(
            _('The deadline to reply to this offer has passed.'), grant,
        )


def lock(grant):
    """Re-read the grant under a row lock; must run inside a transaction."""
    return Grant.objects.lock(grant.pk)


def change_status(grant, new_status, *, actor, user=None, auth=None, reason=None, extra=None):
    """
    Move ``grant`` to ``new_status`` as ``actor`` and bring along what the transition requires.

    Returns the locked, updated grant. Raises ``GrantTransitionError`` and changes nothing if the table does
    not allow it.
    """
    with transaction.atomic():
        g = lock(grant)
        check_transition(g, new_status, actor)
        old_status = g.status
        g.status = new_status
        update_fields = ['status', 'modified']
        if new_status == Grant.STATUS_APPROVED:
            g.offered_at = now()
            g.reply_deadline = g.offered_at + timedelta(days=g.event.settings.grants_reply_days)
            update_fields += ['reply_deadline', 'offered_at']
        if g.decision and old_status != new_status:
            g.decision = None
            update_fields.append('decision')
        g.save(update_fields=update_fields)

        data = {'old_status': old_status, 'new_status': new_status, 'actor': actor}
        if reason:
            data['reason'] = reason
        if extra:
            data.update(extra)
        g.log_action(f'pretix_grants.grant.{new_status}', data=data, user=user, auth=auth)

        if old_status == Grant.STATUS_CONFIRMED:
            issuance.release_voucher(g, user=user, auth=auth)
        if new_status in (Grant.STATUS_APPROVED, Grant.STATUS_WAITING_LIST, Grant.STATUS_REJECTED):
            mails.send_decision(g, user=user, auth=auth)
        # after commit, the receivers in signals.py queue what follows: the voucher, a waiting-list promotion
        transaction.on_commit(lambda: grant_status_changed.send(
            g.event, grant=g, old_status=old_status, new_status=new_status,
        ))
    grant.take_values_of(g)
    return g


def change_fields(grant, changes, *, user=None, auth=None):
    """
    An organizer's edit of the grant's own fields (name, email, language, date, amounts, note; status, decision and
    voucher change only through the transitions and issuance), under the row lock, so an edit never writes back
    what it read before a transition; logged with the changed values. Raises ``DateFixed`` for a new date once the
    voucher is issued, and lets an ``IntegrityError`` (an email address taken meanwhile) through.
    """
    with transaction.atomic():
        g = lock(grant)
        changed = {k: v for k, v in changes.items() if getattr(g, k) != v}
        if 'subevent' in changed and not g.may_change_date():
            raise DateFixed()
        if changed:
            for k, v in changed.items():
                setattr(g, k, v)
            g.save(update_fields=[*changed, 'modified'])
            g.log_action('pretix_grants.grant.changed', data=json.loads(json.dumps(changed, default=str)),
                         user=user, auth=auth)
    grant.take_values_of(g)
    return g


def create_grant(event, *, user=None, auth=None, notify=True, **fields):
    """
    A new application, ``pending``. With ``notify`` the applicant gets the application-received mail with the
    link to their page. One grant per email and event: a second one raises ``DuplicateGrant``.
    """
    existing = Grant.objects.filter(event=event, email__iexact=fields.get('email', '')).first()
    if existing:
        raise DuplicateGrant(existing)
    try:
        with transaction.atomic():
            grant = Grant.objects.create(event=event, **fields)
            grant.log_action('pretix_grants.grant.created', data={
                'locale': grant.locale, 'ticket': grant.ticket,
                **{k: str(v) for k, v in grant.amounts.items()},
            }, user=user, auth=auth)
            if notify:
                mails.send_received(grant, user=user, auth=auth)
    except IntegrityError:
        # a concurrent create of the same email won the race
        raise DuplicateGrant(Grant.objects.filter(event=event, email__iexact=fields.get('email', '')).first())
    return grant


def stage_decision(grant, decision, *, user=None, auth=None):
    """Record what the organizers decided, without telling the grantee yet."""
    if decision is not None and decision not in DECISIONS:
        raise GrantTransitionError(_('"{decision}" is not a decision.').format(decision=decision), grant)
    with transaction.atomic():
        g = lock(grant)
        if decision is not None:
            check_transition(g, decision, ORGANIZER)
        if g.decision != decision:
            g.decision = decision
            g.save(update_fields=['decision', 'modified'])
            g.log_action('pretix_grants.grant.decision', data={'decision': decision}, user=user, auth=auth)
    grant.take_values_of(g)
    return g


def publish(grant, *, user=None, auth=None):
    """Make the staged decision the grant's status and send the decision mail."""
    with transaction.atomic():
        g = lock(grant)  # the decision as it is now, not as the caller last saw it
        if not g.decision:
            raise GrantTransitionError(_('There is no staged decision to publish.'), g)
        g = change_status(g, g.decision, actor=ORGANIZER, user=user, auth=auth)
    grant.take_values_of(g)
    return g


def confirm(grant, *, actor=GRANTEE, user=None, auth=None, reason=None):
    """
    The grantee accepts the offer. Confirming twice is harmless: the second one changes nothing, so a
    double click, a second tab or a lost race never gives a second voucher.
    """
    try:
        return change_status(grant, Grant.STATUS_CONFIRMED, actor=actor, user=user, auth=auth, reason=reason)
    except GrantTransitionError as e:
        if e.grant is not None and e.grant.status == Grant.STATUS_CONFIRMED:
            grant.take_values_of(e.grant)
            return e.grant
        raise


def refuse(grant, *, actor=GRANTEE, user=None, auth=None, reason=None):
    """The grantee declines the offer, or withdraws after confirming; their voucher is released."""
    return change_status(grant, Grant.STATUS_REFUSED, actor=actor, user=user, auth=auth, reason=reason)


def cancel(grant, *, user=None, auth=None, reason=None):
    """The organizers withdraw an offer or a confirmed grant; its voucher is released."""
    return change_status(grant, Grant.STATUS_CANCELLED, actor=ORGANIZER, user=user, auth=auth, reason=reason)


def expire(grant):
    """The reply deadline passed without an answer."""
    return change_status(grant, Grant.STATUS_EXPIRED, actor=SYSTEM)
