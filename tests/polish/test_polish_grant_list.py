"""
The grant list: "Granted" shows amounts only where something is granted (approved, confirmed), as the total above
counts them; a pending or waiting grant's amounts are marked as not granted yet; a bulk action sent back with an
error keeps the selection.
"""
import re
import uuid
from decimal import Decimal

import pytest

from pretix_grants.models import Grant

from ..control.conftest import url


def granted_cell(html, grant):
    rows = re.findall(r'<tr[^>]*>(.*?)</tr>', html, re.S)
    row = next(r for r in rows if f'value="{grant.pk}"' in r)
    cell = re.search(r'<td class="text-right grants-granted">(.*?)</td>', row, re.S).group(1)
    return ' '.join(re.sub(r'<[^>]+>', ' ', cell).split())


@pytest.mark.django_db
def test_granted_shows_amounts_only_for_what_is_granted(manager_client, event, make_grant):
    grants = {status: make_grant(status, travel_amount=Decimal('600.00')) for status in (
        Grant.STATUS_CONFIRMED, Grant.STATUS_APPROVED, Grant.STATUS_PENDING, Grant.STATUS_WAITING_LIST,
        Grant.STATUS_REJECTED, Grant.STATUS_REFUSED, Grant.STATUS_EXPIRED, Grant.STATUS_CANCELLED)}
    html = manager_client.get(url(event, '')).content.decode()
    assert granted_cell(html, grants['confirmed']).startswith('€600.00')
    assert granted_cell(html, grants['approved']).startswith('€600.00')
    assert granted_cell(html, grants['pending']) == '€600.00 if approved'
    assert granted_cell(html, grants['waiting_list']) == '€600.00 if approved'
    for status in ('rejected', 'refused', 'expired', 'cancelled'):
        assert granted_cell(html, grants[status]) == '–', status
    # the total above counts the same two
    assert '€1,200.00' in html


@pytest.mark.django_db
def test_the_applied_date_does_not_wrap(manager_client, event, make_grant):
    make_grant()
    html = manager_client.get(url(event, '')).content.decode()
    assert '<td class="grants-applied text-nowrap">' in html


@pytest.mark.django_db
def test_stage_without_a_decision_keeps_the_selection_and_says_why(manager_client, event, make_grant):
    a, b, c = make_grant(), make_grant(), make_grant()
    r = manager_client.post(url(event, 'bulk/'), {'operation': 'stage', 'run': str(uuid.uuid4()), 'scope': 'selected',
                                                  'grant': [a.pk, c.pk], 'decision': ''}, follow=True)
    html = r.content.decode()
    assert any('Choose the decision to stage.' in str(m) for m in r.context['messages'])
    assert f'name="grant" value="{a.pk}" checked' in html and f'name="grant" value="{c.pk}" checked' in html
    assert f'name="grant" value="{b.pk}" checked' not in html
    assert '<option value="stage" selected>' in html
    # only once: the list opened again starts afresh
    html = manager_client.get(url(event, '')).content.decode()
    assert ' checked' not in re.sub(r'data-toggle-table', '', html.split('grants-list', 1)[1].split('</table>')[0])
