"""
One way of writing a date and time on a grantee's journey: pretix's short date and time format of the language, in
the event's time zone, with its name, in the mails and on every grantee page (reply page, its claim box, the claim
page), in each of the five languages.
"""
from datetime import datetime, timezone

import pytest
from django.core import mail as djmail
from django.test import Client
from django_scopes import scopes_disabled
from freezegun import freeze_time

from pretix_grants import mails
from pretix_grants.models import Grant

from ..claims.conftest import claim_url, reply_url

# how each language writes 12 January 2027, 18:30 in Berlin (17:30 UTC)
MOMENT = {'en': '2027-01-12 18:30 (Europe/Berlin)', 'de': '12.01.2027 18:30 (Europe/Berlin)',
          'it': '12/01/2027 18:30 (Europe/Berlin)', 'fr': '12/01/2027 18:30 (Europe/Berlin)',
          'es': '12/01/2027 18:30 (Europe/Berlin)'}
AT = datetime(2027, 1, 12, 17, 30, tzinfo=timezone.utc)
# what the other formats would have written
OTHER = ('p.m.', 'Jan. 12', '12. Januar', '(UTC)', '2027-01-12 17:30')


@pytest.fixture(autouse=True)
def _early_december():
    """The moment above lies a few weeks ahead, whenever the suite runs."""
    with freeze_time('2026-12-01 12:00:00'):
        yield


@pytest.fixture
def five_languages(event, grant_settings):
    with scopes_disabled():
        event.settings.locales = list(MOMENT)
        event.settings.timezone = 'Europe/Berlin'
    return event


def read(url, lang):
    client = Client()
    client.cookies['pretix_language'] = lang
    r = client.get(url)
    assert r.status_code == 200
    html = r.content.decode()
    assert f'<html lang="{lang}">' in html
    for other in OTHER:
        assert other not in html.split('<body', 1)[1], other
    return html


@pytest.mark.django_db
@pytest.mark.parametrize('lang', list(MOMENT))
def test_the_reply_deadline_reads_alike_in_the_mail_and_on_the_page(five_languages, make_grant, lang):
    grant = make_grant(Grant.STATUS_APPROVED, locale=lang, reply_deadline=AT)
    with scopes_disabled():
        mails.send_reminder(grant)
    [m] = [m for m in djmail.outbox if grant.email in m.to]
    assert MOMENT[lang] in m.body
    assert MOMENT[lang] in read(reply_url(grant), lang)


@pytest.mark.django_db
@pytest.mark.parametrize('lang', list(MOMENT))
def test_the_claims_opening_on_the_reply_page_is_written_the_same_way(five_languages, make_grant, lang):
    with scopes_disabled():
        five_languages.settings.grants_claims_open = AT
    grant = make_grant(Grant.STATUS_CONFIRMED, locale=lang)
    assert MOMENT[lang] in read(reply_url(grant), lang)


@pytest.mark.django_db
@pytest.mark.parametrize('lang', list(MOMENT))
def test_the_claim_deadline_on_the_claim_page_and_the_reply_page(five_languages, past_event, make_grant, lang):
    with scopes_disabled():
        past_event.settings.grants_claims_deadline = AT  # a few weeks from now
    grant = make_grant(Grant.STATUS_CONFIRMED, locale=lang)
    assert MOMENT[lang] in read(claim_url(grant), lang)
    assert MOMENT[lang] in read(reply_url(grant), lang)
