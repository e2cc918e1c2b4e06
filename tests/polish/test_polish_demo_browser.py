"""The links grants_demo prints open in the browser, from pretix's configured URL (here the live server's)."""
import re

import pytest
from django.core.management import call_command

from ..browser import needs_chromium
from ..conftest import committed

pytestmark = needs_chromium


@pytest.mark.django_db(transaction=True)
def test_every_link_the_demo_prints_opens(site, desktop_page, capsys):
    page, errors, shoot = desktop_page
    with committed():
        call_command('grants_demo')
    out = capsys.readouterr().out
    links = dict(re.findall(r'^  ([a-z ]+):\s+(http\S+)', out, re.M))
    assert set(links) == {'control panel', 'grants', 'shop', 'a grantee page', 'claims', 'a claim'}, out
    assert all(link.startswith(site + '/') for link in links.values())

    for name in ('shop', 'a grantee page', 'a claim'):
        r = page.goto(links[name])
        assert r.status == 200, name
        shoot(name.replace(' ', '-'))
    page.goto(links['control panel'])
    page.locator('input[name="email"]').fill('admin@localhost')
    page.locator('input[name="password"]').fill('admin')
    page.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r'/control/$'))
    page.wait_for_load_state('networkidle')
    for name in ('grants', 'claims'):
        r = page.goto(links[name])
        assert r.status == 200, name
        page.wait_for_load_state('networkidle')
        shoot(name)
    assert errors == []
