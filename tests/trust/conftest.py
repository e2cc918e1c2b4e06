"""
Fixtures of the trust tests (payout batches, safe files, personal data): they run without the suite-wide
scopes_disabled(); a fixture's or an assertion's own queries are wrapped, the plugin's code runs in the organizer's
scope as a request runs it.
"""
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django_scopes import scope, scopes_disabled

from pretix_grants.claims import rules as claims
from pretix_grants.models import Claim, Grant

from ..claims.conftest import submitted_claim
from ..control.conftest import (  # NOQA: F401 (the control pages' fixtures)
    manager, manager_client,
)

AT_IBAN = 'AT611904300234573201'
TR_IBAN = 'TR330006100519786457841326'


@pytest.fixture
def payout_claims(claim_grant, past_event, make_grant):
    """Three approved claims: two in the SEPA area (Ada, Grace), one outside it (Cahit), and the event's account."""
    s = past_event.settings
    s.grants_payout_account_holder = 'PyConf e.V.'
    s.grants_payout_iban = 'DE02120300000000202051'
    s.grants_payout_bic = 'BYLADEM1001'
    grace = make_grant(Grant.STATUS_CONFIRMED, name='Grace Hopper', email='grace@example.org')
    cahit = make_grant(Grant.STATUS_CONFIRMED, name='Cahit Arf', email='cahit@example.org')
    with scope(organizer=past_event.organizer):
        ada = claims.approve(submitted_claim(claim_grant, '250.00'), Decimal('240.50'))
        g = claims.approve(submitted_claim(grace, '199.99', iban=AT_IBAN))
        t = claims.approve(submitted_claim(cahit, '100.00', iban=TR_IBAN, bic='TGBATRISXXX'))
    djmail.outbox = []
    with scopes_disabled():
        return [Claim.objects.get(pk=c.pk) for c in (ada, g, t)]
