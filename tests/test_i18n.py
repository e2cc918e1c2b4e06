"""
The grantee's language: every mail, the reply page in every state, the application form and its pages read in
German, Italian, French and Spanish, with no English sentence of the plugin left; dates, times and amounts in that
language's format; default mail templates pre-filled per language; the ticket link keeps the language.

"No English left" compares each rendering with the English one: no line of a mail and no text node of a page longer
than 20 characters may be the same, apart from names, addresses, codes and links.
"""
import ast
import functools
import os
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser

import pretix
import pytest
from django.core import mail as djmail
from django.utils.timezone import now
from django_scopes import scopes_disabled
from freezegun import freeze_time
from i18nfield.strings import LazyI18nString

from pretix_grants import lifecycle, mails, workflow
from pretix_grants.models import Grant

from .conftest import committed, event_scope
from .control.conftest import form_data, url
from .test_applications import (  # noqa: F401
    APPLY, DURING, application, open_event,
)
from .test_reply_page import EXPECTED, grant_in, page  # noqa: F401

LANGUAGES = ('de', 'it', 'fr', 'es')
NAME, EMAIL = 'Ada Lovelace', 'ada@example.org'
# how each language writes 1,234.50 euros (pretix's money format for the locale) and the date 12 January 2027
MONEY = {'en': '€300.00', 'de': '300,00', 'it': '300,00', 'fr': '300,00', 'es': '300,00'}
DATE = {'de': '12.01.2027', 'it': '12/01/2027', 'fr': '12/01/2027', 'es': '12/01/2027'}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ('script', 'style')

    def handle_endtag(self, tag):
        self._skip -= tag in ('script', 'style') and self._skip > 0

    def handle_data(self, data):
        text = ' '.join(data.split())
        if text and not self._skip:
            self.texts.append(text)


def page_texts(response):
    p = _Text()
    p.feed(response.content.decode())
    return p.texts


def mail_texts(message):
    return [message.subject] + [' '.join(line.split()) for line in message.body.splitlines() if line.strip()]


def is_data(text):
    return bool(re.search(r'https?://|@|Lovelace|PyConf|[A-Z0-9]{10,}', text))


@functools.lru_cache
def pretix_messages():
    """pretix's own English messages: where pretix's catalogue of a language lacks one, that is pretix's part."""
    found, current = set(), None
    with open(os.path.join(os.path.dirname(pretix.__file__), 'locale', 'django.pot'), encoding='utf-8') as f:
        for line in f:
            if line.startswith('msgid "'):
                current, line = [], line[6:]
            elif not line.startswith('"'):
                if current:
                    found.add(' '.join(''.join(current).split()))
                current = None
            if current is not None:
                current.append(ast.literal_eval(line.strip()))
    return found


def english_left(translated, english):
    """The plugin's sentences (over 20 characters) of the English rendering still there in the translated one."""
    english = {t for t in english if len(t) > 20 and not is_data(t) and t not in pretix_messages()}
    assert english, 'the English rendering has no sentence of the plugin to compare with'
    return sorted({t for t in translated if t in english})


@pytest.fixture
def speaking(event, grant_settings):
    """The event in English and ``lang``; returns a maker of grants in one of the two."""
    @scopes_disabled()
    def make(lang, status=Grant.STATUS_PENDING, locale=None, **kwargs):
        event.settings.locales = ['en', lang]
        event.settings.timezone = 'Europe/Berlin'
        kwargs.setdefault('name', NAME)
        kwargs.setdefault('email', f'{locale or lang}-{status}-{Grant.objects.count()}@example.org')
        if status == Grant.STATUS_APPROVED:
            kwargs.setdefault('reply_deadline', now() + timedelta(days=14))
        return Grant.objects.create(event=event, status=status, locale=locale or lang,
                                    travel_amount=Decimal('300.00'), **kwargs)
    return make


@scopes_disabled()
def set_locale(grant, lang):
    Grant.objects.filter(pk=grant.pk).update(locale=lang)


@scopes_disabled()
def grant_of(email):
    return Grant.objects.get(email=email)


def _mails_of(grant):
    return [m for m in djmail.outbox if grant.email in m.to]


def _mail(speaking, lang, kind):
    """The grant's mail of ``kind`` (the one the plugin sends in that situation) in ``lang``."""
    # the decisions, the application and the reply in the organizer's scope, as their pages run them; the
    # reminder and the expiry with none, as cron runs them
    if kind in ('decision_approved', 'decision_waiting_list', 'decision_rejected'):
        grant = speaking(lang)
        with event_scope(grant.event):
            workflow.stage_decision(grant, kind.split('_', 1)[1])
            workflow.publish(grant)
    elif kind == 'received':
        grant = speaking(lang)
        with event_scope(grant.event):
            mails.send_received(grant)
    elif kind == 'voucher':
        grant = speaking(lang, Grant.STATUS_APPROVED)
        with event_scope(grant.event), committed():
            workflow.confirm(grant)
    elif kind == 'reminder':
        grant = speaking(lang, Grant.STATUS_APPROVED)
        mails.send_reminder(grant)
    elif kind == 'expired':
        grant = speaking(lang, Grant.STATUS_APPROVED)
        assert lifecycle.expire_offers(at=grant.reply_deadline + timedelta(seconds=1)) == 1  # cron's whole run
    [m] = _mails_of(grant)
    return m


MAIL_KINDS = ('received', 'decision_approved', 'decision_waiting_list', 'decision_rejected', 'voucher', 'reminder',
              'expired')


@pytest.mark.django_db
@pytest.mark.parametrize('lang', LANGUAGES)
@pytest.mark.parametrize('kind', MAIL_KINDS)
def test_every_mail_is_in_the_grantees_language(speaking, lang, kind):
    english = _mail(speaking, 'en', kind)
    translated = _mail(speaking, lang, kind)

    assert english_left(mail_texts(translated), mail_texts(english)) == []
    assert translated.subject != english.subject
    assert '{' not in translated.body and '{' not in translated.subject  # every placeholder filled in
    if kind == 'decision_approved':
        assert MONEY[lang] in translated.body and MONEY['en'] not in translated.body
    if kind in ('decision_approved', 'reminder', 'expired'):
        assert '(Europe/Berlin)' in translated.body  # the deadline in the event's time zone, named


@pytest.mark.django_db
@pytest.mark.parametrize('lang', LANGUAGES)
def test_deadline_and_amounts_use_the_languages_formats(speaking, lang):
    grant = speaking(lang, Grant.STATUS_APPROVED, reply_deadline=datetime(2027, 1, 12, 17, 30, tzinfo=timezone.utc))
    mails.send_reminder(grant)
    [m] = _mails_of(grant)
    # 17:30 UTC is 18:30 in Berlin in January
    assert f'{DATE[lang]} 18:30 (Europe/Berlin)' in m.body


@pytest.mark.django_db
@pytest.mark.parametrize('lang', LANGUAGES)
@pytest.mark.parametrize('state', EXPECTED)
def test_the_reply_page_speaks_the_grants_language_in_every_state(client, grant_in, event, lang, state):  # noqa: F811 (fixtures)
    event.settings.locales = ['en', lang]
    grant = grant_in(state)
    english = page_texts(client.get(page(grant)))
    set_locale(grant, lang)

    response = client.get(page(grant))

    assert f'<html lang="{lang}">' in response.content.decode()
    assert english_left(page_texts(response), english) == []
    if state == 'approved':
        # the decline step asks once more, in the grantee's language too
        set_locale(grant, 'en')
        english = page_texts(client.post(page(grant), {'answer': 'decline'}))
        set_locale(grant, lang)
        asked = client.post(page(grant), {'answer': 'decline'})
        assert asked.status_code == 200
        assert english_left(page_texts(asked), english) == []


@pytest.mark.django_db
@pytest.mark.parametrize('lang', LANGUAGES)
def test_the_application_form_its_thanks_and_its_status_page_speak_the_visitors_language(client, open_event, lang):  # noqa: F811 (fixtures)
    open_event.settings.locales = ['en', lang]
    open_event.settings.timezone = 'Europe/Berlin'
    with freeze_time(DURING):
        english = page_texts(client.get(APPLY))
        client.cookies['pretix_language'] = lang
        form = client.get(APPLY)
        assert english_left(page_texts(form), english) == []
        # the period: a localized date and time in the event's time zone, named, not an ISO stamp
        period = re.search(r'id="applications-period">([^<]+)<', form.content.decode()).group(1)
        assert '(Europe/Berlin)' in period and '2027-04-01' not in period

        client.cookies['pretix_language'] = 'en'
        english_thanks = page_texts(client.get(client.post(APPLY, application(locale='en'))['Location']))
        english_status = page_texts(client.get(page(grant_of('grace@example.org'))))
        client.cookies['pretix_language'] = lang
        thanks = client.get(client.post(APPLY, application(locale=lang, email='lin@example.org'))['Location'])
        assert english_left(page_texts(thanks), english_thanks) == []
        del client.cookies['pretix_language']
        status = client.get(page(grant_of('lin@example.org')))
        assert english_left(page_texts(status), english_status) == []


@pytest.mark.django_db
@pytest.mark.parametrize('lang', LANGUAGES)
def test_a_new_events_mail_templates_are_pre_filled_in_each_of_its_languages(manager_client, event, item, lang):
    event.settings.locales = ['en', lang]
    data = form_data(manager_client.get(url(event, 'settings/')))
    subject_en = data['grants_mail_decision_approved_subject_0']
    subject = data['grants_mail_decision_approved_subject_1']
    text = data['grants_mail_decision_approved_text_1']
    assert subject_en == 'Your grant for {event}: please confirm'
    assert subject != subject_en and '{event}' in subject
    for placeholder in ('{name}', '{event}', '{granted_amounts}', '{reply_deadline}', '{reply_url}'):
        assert placeholder in text
    assert 'Best regards' not in text and 'Hello' not in text


@pytest.mark.django_db
@pytest.mark.parametrize('lang', LANGUAGES)
def test_edited_templates_stay_as_edited_and_untouched_ones_follow_the_language(speaking, event, lang):
    event.settings.grants_mail_decision_approved_subject = LazyI18nString({'en': 'Edited', lang: 'Bearbeitet {event}'})
    edited = speaking(lang)
    with event_scope(event):
        workflow.stage_decision(edited, Grant.STATUS_APPROVED)
        workflow.publish(edited)
    [m] = _mails_of(edited)
    assert m.subject == 'Bearbeitet PyConf 2027'
    # the text was not edited: the language's default
    assert _mail(speaking, 'en', 'decision_approved').body.splitlines()[0] == f'Hello {NAME},'
    assert 'Hello' not in m.body


@pytest.mark.django_db
@pytest.mark.parametrize('lang', LANGUAGES)
def test_get_your_ticket_keeps_the_language_into_the_shop(client, grant_in, event, lang):  # noqa: F811 (fixtures)
    event.settings.locales = ['en', lang]
    grant = grant_in('confirmed')
    set_locale(grant, lang)
    html = client.get(page(grant)).content.decode()
    link = re.search(r'<a href="([^"]+)"[^>]*id="redeem"', html).group(1).replace('&amp;', '&')

    shop = client.get(link)

    assert shop.status_code == 302
    assert shop['Location'] == f'/pyconf/2027/redeem?voucher={grant.voucher.code}'
    assert shop.cookies['pretix_language'].value == lang
    redeem = client.get(shop['Location'])
    assert f'<html lang="{lang}">' in redeem.content.decode()
    assert grant.voucher.code in redeem.content.decode()
    # the voucher mail's link does the same
    grant.refresh_from_db()
    with event_scope(event):  # the grant page's "send again"
        mails.resend_voucher(grant)
    m = [m for m in djmail.outbox if m.to == [grant.email]][-1]
    assert f'locale={lang}&next=%2Fpyconf%2F2027%2Fredeem%3Fvoucher%3D{grant.voucher.code}' in m.body
