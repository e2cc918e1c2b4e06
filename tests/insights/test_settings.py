"""
The report's settings (Grants → Statistics → Report settings): saved through the page, and rendered so that a screen
reader hears each field's help and errors (its aria-describedby names elements on the page) and each language's box
of the introduction by the field's name and the language.
"""
import re
from html.parser import HTMLParser

import pytest

from ..control.conftest import url


class Elements(HTMLParser):
    """Each element's attributes by id, and the text inside each element that has an id."""

    def __init__(self, html):
        super().__init__()
        self.attrs, self.text, self.open = {}, {}, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get('id'):
            self.attrs[attrs['id']] = attrs
            self.text[attrs['id']] = ''
            if tag not in ('input', 'img', 'br'):
                self.open.append((tag, attrs['id']))

    def handle_endtag(self, tag):
        if self.open and self.open[-1][0] == tag:
            self.open.pop()

    def handle_data(self, data):
        for tag, id_ in self.open:
            self.text[id_] += data

    def description(self, id_):
        return ' | '.join(' '.join(self.text[d].split()) for d in self.attrs[id_].get('aria-describedby', '').split())


@pytest.mark.django_db
@pytest.mark.parametrize('path', ['statistics/settings/', 'statistics/'])
def test_help_and_errors_are_linked_to_their_fields(event, manager_client, path):
    page = Elements(manager_client.get(url(event, path)).content.decode())
    assert page.description('id_grants_insights_threshold') == (
        'Counts below it are shown as "fewer than …" on the page, in the report and in its CSV.')
    assert page.attrs['id_grants_insights_intro_0']['aria-label'] == 'Introduction of the report (English)'
    assert page.attrs['id_grants_insights_intro_1']['aria-label'] == 'Introduction of the report (German)'
    assert page.description('id_grants_insights_intro_1') == (
        'A few sentences at the top of the post-event report, in each language.')

    r = manager_client.post(url(event, 'statistics/settings/'), {'grants_insights_threshold': '0'})
    assert r.status_code == 200
    page = Elements(r.content.decode())
    assert re.match(r'Ensure this value is greater than or equal to 1\. \| Counts below it',
                    page.description('id_grants_insights_threshold'))


@pytest.mark.django_db
def test_the_settings_are_saved(event, manager_client):
    r = manager_client.post(url(event, 'statistics/settings/'), {
        'grants_insights_threshold': '3', 'grants_insights_intro_0': 'Our programme.'})
    assert r.status_code == 302
    event.settings.flush()
    assert event.settings.grants_insights_threshold == 3
    assert str(event.settings.grants_insights_intro) == 'Our programme.'
