"""The reimbursement claim's part of the grantee's reply page: ``{% claim_summary %}`` (claims/rules.py decides)."""
from django import template
from django.utils.timezone import now
from pretix.multidomain.urlreverse import eventreverse

from ..claims import rules as claims
from ..claims.views import STATE_TEXTS

register = template.Library()


@register.inclusion_tag('pretix_grants/claim_summary.html', takes_context=True)
def claim_summary(context):
    grant = context.get('grant')
    if grant is None or not claims.claimable(grant):
        return {'show': False}
    claim = claims.claim_of(grant)
    opens, deadline = claims.window(grant.event)
    heading, text = STATE_TEXTS[claim.state if claim else None]
    return {
        'show': True,
        'event': grant.event,
        'claim': claim,
        'heading': heading,
        'text': text,
        'opens': opens,
        'deadline': deadline,
        'not_open': now() < opens,
        'closed_reason': claims.closed_reason(grant, claim),
        'claim_url': eventreverse(grant.event, 'plugins:pretix_grants:claim', kwargs={'secret': grant.secret}),
    }
