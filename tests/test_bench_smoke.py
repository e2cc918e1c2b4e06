"""Every benchmark of `make bench` at a tiny N, so they keep working; the numbers mean nothing here."""
import pytest
from django_scopes import scopes_disabled

from bench import scenarios

# bench/run.py runs every scenario with scopes disabled (it makes its data and drives the plugin as a shell
# does); the REST scenario's requests set their own scope.


def check(rows):
    assert rows
    for r in rows:
        assert r['scenario'] and r['seconds'] is not None and r['seconds'] >= 0
    return rows


@pytest.mark.django_db
@scopes_disabled()
def test_confirmation():
    rows = check(scenarios.confirmation(repeat=2, foreign=30))
    assert rows[0]['queries'] == rows[1]['queries']


@pytest.mark.django_db
@scopes_disabled()
def test_plugin_bulk():
    rows = check(scenarios.plugin_bulk(3))
    assert 'voucher log' in rows[0]['note']
    assert len(check(scenarios.plugin_bulk(2, deliver=False))) == 1


@pytest.mark.django_db
@scopes_disabled()
def test_pretix_bulk():
    check(scenarios.pretix_bulk(3))


@pytest.mark.django_db
@scopes_disabled()
def test_rest_api():
    from rest_framework.test import APIClient

    def post(path, data, token):
        r = APIClient().post(path, data, format='json', HTTP_AUTHORIZATION='Token ' + token)
        return r.status_code, r.json()

    rows = check(scenarios.rest_api(3, post))
    assert rows[0]['rate'] and rows[1]['rate']


@pytest.mark.django_db
@scopes_disabled()
def test_mail_floor():
    check(scenarios.mail_floor(3))


@pytest.mark.django_db
@scopes_disabled()
def test_list_pages():
    rows = check(scenarios.list_pages(60))
    assert all(r['queries'] for r in rows)
