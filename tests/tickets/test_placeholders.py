"""The own-ticket placeholders belong to the own-ticket mails: no other template offers or accepts them."""
import pytest
from django_scopes import scope

from pretix_grants.control.forms import MAIL_LABELS, template_placeholders


@pytest.mark.django_db
def test_only_the_own_ticket_mails_offer_the_order_and_the_refund(event):
    with scope(organizer=event.organizer):
        offered = {key: set(template_placeholders(event, key)) for key in MAIL_LABELS}
    assert {'own_ticket_order', 'own_ticket_refund'} <= offered['own_ticket_refunded']
    assert 'own_ticket_order' in offered['own_ticket_kept'] and 'own_ticket_order' in offered['own_ticket_free']
    assert 'own_ticket_refund' not in offered['own_ticket_kept']
    for key in ('received', 'decision_approved', 'voucher', 'claim_paid'):
        assert not offered[key] & {'own_ticket_order', 'own_ticket_refund'}, key
    assert 'event' in offered['received']  # pretix's own stay in every template
