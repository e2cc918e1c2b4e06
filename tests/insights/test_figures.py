"""
Every number of Grants → Statistics, of the report's CSV and of its PDF (read back with pypdf), against a
programme built through the plugin's public flows and pretix's own orders and check-ins (programme.py).
"""
import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest
from django_scopes import scope, scopes_disabled
from pypdf import PdfReader

from pretix_grants import workflow
from pretix_grants.models import Grant

from ..control.conftest import url
from . import programme

FUNNEL_LABELS = {
    'applied': 'Applied', 'reviewed': 'Reviewed', 'offered': 'Offered a grant', 'confirmed': 'Confirmed',
    'redeemed': 'Voucher redeemed', 'checked_in': 'Checked in', 'claim_submitted': 'Claim submitted', 'paid': 'Paid',
}


class Tables(HTMLParser):
    """The page's tables by id: a list of rows, each the texts of its cells."""

    def __init__(self, html):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'table' and attrs.get('id'):
            self.current = self.tables.setdefault(attrs['id'], [])
        elif tag == 'tr' and self.current is not None:
            self.row = []
        elif tag in ('td', 'th') and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == 'table':
            self.current = None
        elif tag == 'tr' and self.row is not None:
            self.current.append(self.row)
            self.row = None
        elif tag in ('td', 'th') and self.cell is not None:
            self.row.append(' '.join(''.join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def column(self, table_id, col=1):
        return {r[0]: r[col] for r in self.tables[table_id][1:]}


def euro(value):
    return f'€{value:,.2f}'


@pytest.fixture
def built(event, item, quota, grant_settings):
    return programme.build(event, item)


def page(client, event):
    r = client.get(url(event, 'statistics/'))
    assert r.status_code == 200
    return Tables(r.content.decode())


def chart_data(html):
    """The figures the page's charts draw (its JSON)."""
    data = re.search(r'<script type="application/json" id="grants-insights-data">(.*?)</script>', html, re.S)
    return json.loads(data.group(1))


def report(client, event, fmt, locale='en'):
    r = client.get(url(event, f'statistics/report/?locale={locale}&format={fmt}'))
    assert r.status_code == 200, r.content[:500]
    return r


def csv_rows(client, event):
    text = report(client, event, 'csv').content.decode('utf-8-sig')
    return list(csv.reader(io.StringIO(text)))[1:]


def pdf_lines(client, event):
    r = report(client, event, 'pdf')
    reader = PdfReader(io.BytesIO(r.content))
    assert 1 <= len(reader.pages) <= 3
    # the layout mode keeps a table's row on one line, as it is printed
    return [' '.join(line.split()) for p in reader.pages
            for line in p.extract_text(extraction_mode='layout').splitlines()]


def printed(lines, *words):
    """Whether one printed line holds ``words`` side by side (and no digit right after them)."""
    pattern = re.compile(r'(^| )' + re.escape(' '.join(str(w) for w in words)) + r'(?![\d.,])')
    return any(pattern.search(line) for line in lines)


@pytest.mark.django_db
def test_every_number_matches_the_programme_without_suppression(built, event, manager_client):
    event.settings.grants_insights_threshold = 1
    exp = programme.expected()
    t = page(manager_client, event)

    assert t.column('table-funnel') == {FUNNEL_LABELS[k]: str(v) for k, v in exp['funnel'].items()}
    shares = t.column('table-funnel', 2)
    assert shares['Applied'] == '100 %' and shares['Confirmed'] == f'{round(100 * 6 / 12)} %'
    labels = dict(Grant.STATUS_CHOICES)
    assert t.column('table-status') == {str(labels[k]): str(v) for k, v in exp['status'].items()}
    assert t.column('table-country') == {k: str(v) for k, v in exp['country'].items()}
    assert t.column('table-q_first_time') == {k: str(v) for k, v in exp['first_time'].items()}
    m = exp['money']
    budgets = programme.BUDGETS
    granted = m['granted_travel'] + m['granted_accommodation']
    assert t.tables['table-money'][0] == ['Category', 'Granted', 'Confirmed', 'Claimed', 'Budget',
                                          'Left of the budget']
    assert t.tables['table-money'][1] == [
        'Travel', euro(m['granted_travel']), euro(m['confirmed_travel']), euro(m['claimed_travel']),
        euro(budgets['travel']), euro(budgets['travel'] - m['granted_travel'])]
    assert t.tables['table-money'][2] == [
        'Accommodation', euro(m['granted_accommodation']), euro(m['confirmed_accommodation']), euro(0),
        euro(budgets['accommodation']), euro(budgets['accommodation'] - m['granted_accommodation'])]
    assert t.tables['table-money'][3] == ['Other', euro(0), euro(0), euro(0), '–', '–']
    assert t.tables['table-money'][4] == [
        'Total', euro(granted), euro(m['confirmed_travel'] + m['confirmed_accommodation']), euro(m['claimed_travel']),
        euro(programme.BUDGET), euro(programme.BUDGET - granted)]
    html = manager_client.get(url(event, 'statistics/')).content.decode()
    assert f'<strong id="rate-grantees">{exp["attendance_grantees"]} %</strong>' in html
    assert f'<strong id="rate-all">{exp["attendance_all"]} %</strong>' in html
    assert euro(m['approved']) in html and euro(m['paid']) in html
    chart = {r['label']: r for r in chart_data(html)['money']}
    assert chart['Travel']['budget'] == float(budgets['travel'])
    assert chart['Travel']['left'] == float(budgets['travel'] - m['granted_travel'])
    assert chart['Accommodation']['left_text'] == euro(budgets['accommodation'] - m['granted_accommodation'])
    assert chart['Other']['budget'] == 0 and chart['Other']['budget_text'] == '–'

    rows = csv_rows(manager_client, event)
    by = {(r[0], r[1]): r[2] for r in rows}
    for key, value in exp['funnel'].items():
        assert by[('funnel', FUNNEL_LABELS[key])] == str(value)
    for key, value in exp['status'].items():
        assert by[('status', str(labels[key]))] == str(value)
    for key, value in exp['country'].items():
        assert by[('country', key)] == str(value)
    assert by[('money_granted', 'Travel')] == str(m['granted_travel'])
    assert by[('money_claimed', 'Travel')] == str(m['claimed_travel'])
    assert by[('money_approved', 'Total')] == str(m['approved'])
    assert by[('money_paid', 'Total')] == str(m['paid'])
    assert by[('money_budget', 'Travel')] == str(budgets['travel'])
    assert by[('money_left', 'Travel')] == str(budgets['travel'] - m['granted_travel'])
    assert by[('money_budget', 'Accommodation')] == str(budgets['accommodation'])
    assert by[('money_left', 'Accommodation')] == str(budgets['accommodation'] - m['granted_accommodation'])
    assert ('money_budget', 'Other') not in by and ('money_left', 'Other') not in by
    assert by[('money_budget', 'Total')] == str(programme.BUDGET)
    assert by[('money_left', 'Total')] == str(programme.BUDGET - granted)
    assert by[('attendance', 'Attendance rate of grantees')] == str(exp['attendance_grantees'])
    assert by[('attendance', 'Attendance rate of all attendees')] == str(exp['attendance_all'])

    lines = pdf_lines(manager_client, event)
    for key, value in exp['funnel'].items():
        assert printed(lines, FUNNEL_LABELS[key], value), (key, lines)
    for key, value in exp['country'].items():
        assert printed(lines, key, value), (key, lines)
    assert printed(lines, 'Applications', len(programme.PEOPLE))
    assert printed(lines, 'Attendance rate of grantees', f'{exp["attendance_grantees"]} %')
    assert printed(lines, 'Attendance rate of all attendees', f'{exp["attendance_all"]} %')
    assert printed(lines, 'Travel', euro(m['granted_travel']), euro(m['confirmed_travel']), euro(m['claimed_travel']),
                   euro(budgets['travel']), euro(budgets['travel'] - m['granted_travel']))
    assert printed(lines, 'Accommodation', euro(m['granted_accommodation']), euro(m['confirmed_accommodation']),
                   euro(0), euro(budgets['accommodation']), euro(budgets['accommodation'] - m['granted_accommodation']))
    assert printed(lines, 'Other', euro(0), euro(0), euro(0), '– –')
    assert printed(lines, 'Total', euro(granted), euro(m['confirmed_travel'] + m['confirmed_accommodation']),
                   euro(m['claimed_travel']), euro(programme.BUDGET), euro(programme.BUDGET - granted))
    assert printed(lines, 'Paid out', euro(m['paid']))
    assert printed(lines, 'Claims approved', euro(m['approved']))


@pytest.mark.django_db
def test_small_groups_are_shown_as_fewer_than_and_cannot_be_worked_out(built, event, manager_client):
    event.settings.grants_insights_threshold = 3
    t = page(manager_client, event)
    # France (1) and no answer (1) are small; the two alone add up to 12 - 6 - 4: Germany is withheld with them
    assert t.column('table-country') == {'Italy': '6', 'Germany': 'not shown', 'France': 'fewer than 3',
                                         'No answer': 'fewer than 3'}
    funnel = t.column('table-funnel')
    assert funnel['Paid'] == 'fewer than 3'
    # 8 offered after 9 reviewed: one person left in between, so "offered" is not shown
    assert funnel['Offered a grant'] == 'not shown'

    by = {(r[0], r[1]): (r[2], r[3]) for r in csv_rows(manager_client, event)}
    assert by[('country', 'France')] == ('', 'fewer than 3')
    assert by[('country', 'Germany')] == ('', 'not shown')
    assert by[('country', 'Italy')] == ('6', '6')

    lines = pdf_lines(manager_client, event)
    assert printed(lines, 'France fewer than 3') and printed(lines, 'Germany not shown')
    assert not any(re.search(r'(France|Germany) \d', line) for line in lines)


@pytest.mark.django_db
def test_what_is_left_of_a_budget_does_not_give_away_a_hidden_amount(built, event, manager_client):
    event.settings.grants_insights_threshold = 5
    exp = programme.expected()['money']
    budgets = programme.BUDGETS
    granted = exp['granted_travel'] + exp['granted_accommodation']
    # accommodation is granted to 4 grants: fewer than 5, and travel (the only other amount) is not shown with it;
    # what is left of their budgets would tell both amounts
    money = Tables(manager_client.get(url(event, 'statistics/')).content.decode()).tables['table-money']
    granted_budget_left = [[row[i] for i in (0, 1, 4, 5)] for row in money[1:]]
    assert granted_budget_left == [
        ['Travel', 'not shown', euro(budgets['travel']), 'not shown'],
        ['Accommodation', 'fewer than 5 grants', euro(budgets['accommodation']), 'not shown'],
        ['Other', euro(0), '–', '–'],
        ['Total', euro(granted), euro(programme.BUDGET), euro(programme.BUDGET - granted)],
    ]
    html = manager_client.get(url(event, 'statistics/')).content.decode()
    chart = {r['label']: r for r in chart_data(html)['money']}
    assert chart['Travel']['left'] == 0 and chart['Travel']['left_text'] == 'not shown'
    assert chart['Travel']['granted'] == 0 and chart['Travel']['budget'] == float(budgets['travel'])
    for hidden in (budgets['travel'] - exp['granted_travel'], budgets['accommodation'] - exp['granted_accommodation']):
        assert euro(hidden) not in html

    by = {(r[0], r[1]): (r[2], r[3]) for r in csv_rows(manager_client, event)}
    assert by[('money_left', 'Travel')] == ('', 'not shown')
    assert by[('money_left', 'Accommodation')] == ('', 'not shown')
    assert by[('money_budget', 'Accommodation')] == (str(budgets['accommodation']), euro(budgets['accommodation']))
    assert by[('money_left', 'Total')][0] == str(programme.BUDGET - granted)

    lines = pdf_lines(manager_client, event)
    assert printed(lines, 'Travel not shown not shown fewer than 5 grants', euro(budgets['travel']), 'not shown')
    assert printed(lines, 'Accommodation fewer than 5 grants fewer than 5 grants', euro(0),
                   euro(budgets['accommodation']), 'not shown')
    assert printed(lines, 'Total', euro(granted), euro(exp['confirmed_travel'] + exp['confirmed_accommodation']),
                   'fewer than 5 grants', euro(programme.BUDGET), euro(programme.BUDGET - granted))
    assert not any(euro(budgets['travel'] - exp['granted_travel']) in line for line in lines)


@pytest.mark.django_db
def test_filters_by_status_and_decision_round(built, event, manager_client):
    event.settings.grants_insights_threshold = 1
    t = Tables(manager_client.get(url(event, 'statistics/?status=confirmed&status=refused')).content.decode())
    assert t.column('table-funnel')['Applied'] == '7'
    with scopes_disabled():
        day = Grant.objects.filter(event=event).exclude(offered_at=None).first().offered_at.date()
    t = Tables(manager_client.get(url(event, f'statistics/?round={day.isoformat()}')).content.decode())
    # everyone with a published decision (approved, rejected, waiting list) is in today's round
    assert t.column('table-funnel')['Applied'] == '11'
    r = manager_client.get(url(event, 'statistics/?round=1999-01-01'))
    assert r.status_code == 200 and b'Select a valid choice' not in r.content


@pytest.mark.django_db
def test_the_report_speaks_the_chosen_language_and_refuses_others(built, event, manager_client):
    event.settings.grants_insights_intro = {'en': 'Our programme in 2027.', 'de': 'Unser Programm 2027.'}
    r = report(manager_client, event, 'pdf', 'de')
    text = ' '.join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert 'Unser Programm 2027.' in text and 'Our programme' not in text
    assert manager_client.get(url(event, 'statistics/report/?locale=xx&format=pdf')).status_code == 400
    assert manager_client.get(url(event, 'statistics/report/?locale=en&format=exe')).status_code == 400


@pytest.mark.django_db
def test_speakers_travel_support_is_counted_apart_where_the_programme_has_it(built, event, manager_client):
    t = page(manager_client, event)
    assert 'table-kind' not in t.tables  # no speaker support in the programme: no such table
    with scope(organizer=event.organizer):
        for n in range(6):
            workflow.create_grant(event, name=f'Speaker {n}', email=f'speaker{n}@example.org', notify=False,
                                  grant_type=Grant.TYPE_SPEAKER, ticket=False, requested_ticket=False)

    event.settings.grants_insights_threshold = 1
    assert page(manager_client, event).column('table-kind') == {'Application': '12', 'Speaker support': '6'}
    by = {(r[0], r[1]): r[2] for r in csv_rows(manager_client, event)}
    assert by[('kind', 'Application')] == '12' and by[('kind', 'Speaker support')] == '6'
    assert printed(pdf_lines(manager_client, event), 'Speaker support 6')

    event.settings.grants_insights_threshold = 7  # six speakers are a small group, and 18 - 12 would tell
    assert page(manager_client, event).column('table-kind') == {'Application': 'not shown',
                                                                'Speaker support': 'fewer than 7'}
