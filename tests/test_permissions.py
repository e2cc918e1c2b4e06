import pytest

from pretix_grants.permissions import MANAGE, VIEW


@pytest.mark.django_db
def test_view_and_manage_are_separate_team_permissions(team_member, event):
    viewer = team_member({VIEW: True})
    manager = team_member({VIEW: True, MANAGE: True})
    outsider = team_member({})
    org = event.organizer
    assert viewer.has_event_permission(org, event, VIEW) and not viewer.has_event_permission(org, event, MANAGE)
    assert manager.has_event_permission(org, event, MANAGE)
    assert not outsider.has_event_permission(org, event, VIEW)


@pytest.mark.django_db
def test_team_settings_offer_the_grant_permissions(admin_client, admin_team, event):
    response = admin_client.get(f'/control/organizer/{event.organizer.slug}/team/{admin_team.pk}/edit')
    assert response.status_code == 200
    assert 'Applications for financial aid' in response.content.decode()
