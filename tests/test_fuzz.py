"""
Fuzzing the REST API's writes and the grantee's page with Hypothesis: odd Unicode (NUL, lone surrogates, right-to-left
marks, emoji), huge strings, wrong types, missing fields and nested junk.

Whatever comes in: never a 500 (pretix's test settings raise it in the test), a rejection is a 4xx with a message, and
a rejected request changes nothing (the grant's row, its log, mails, vouchers). Each example runs in a savepoint that
is rolled back afterwards, so every example starts from the same grants, made once per test.
"""
import json
import os
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core import mail as djmail
from django.db import transaction
from django.http import QueryDict
from django.utils.timezone import now
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, example, given, settings, strategies as st
from pretix.base.models import LogEntry, OutgoingMail, Voucher

from pretix_grants.models import Grant, GrantMail

# GRANTS_FUZZ_EXAMPLES=10000 for a deeper run
EXAMPLES = int(os.environ.get('GRANTS_FUZZ_EXAMPLES', 1000))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])

# --- strategies

ODD = [
    '', ' ', '\x00', 'a\x00b', '\ud800', 'x\udfff', '\u202eevil\u202c', 'שלום עולם', 'مرحبا', '😀' * 50,
    '👩\u200d👩\u200d👧', '\ufeff', '\u0301' * 10, 'ﷺ', 'Ǆ', 'İ', 'ß', '\r\n', '\t', 'null', 'None', 'true', '0', '-1',
    '1e309', 'NaN', 'Infinity', '<script>alert(1)</script>', "'; DROP TABLE pretix_grants_grant; --", '%s%n%x',
    '{name}', '{{name}}', '../../etc/passwd', 'ä' * 300, 'x' * 255, 'x' * 256, '\U0010ffff', '\x7f', '\x1b[31m',
]
surrogates = st.characters(categories=['Cs'])
odd_text = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=40),
    st.text(st.one_of(st.characters(), surrogates), max_size=20),
    st.integers(250, 300).map(lambda n: 'é' * n),
    st.sampled_from([n * '\u202e😀' for n in (2_000, 20_000)]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70), st.floats(), odd_text)
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
                    max_leaves=6)
anything = st.one_of(junk, odd_text)
amount = st.one_of(anything, st.decimals(allow_nan=True, allow_infinity=True).map(str),
                   st.sampled_from(['0', '0.00', '300.50', '-1', '1e12', '99999999999.99', '100000000000.00',
                                    '0.001', ' 5 ', '5,00', '١٢٣']))
emails = st.one_of(st.emails(), anything)
names = st.one_of(st.text(min_size=1, max_size=255), anything)
datetimes = st.one_of(anything, st.datetimes().map(lambda d: d.isoformat()),
                      st.sampled_from(['9999-12-31T23:59:59-14:00', '0001-01-01T00:00:00+14:00', '2027-02-30T10:00',
                                       '2027-01-01', 'tomorrow']))
amounts = st.one_of(anything, st.fixed_dictionaries({}, optional={
    'ticket': anything, 'travel': amount, 'accommodation': amount, 'other': amount, 'junk': anything}))
grant_fields = st.fixed_dictionaries({}, optional={
    'name': names, 'email': emails, 'locale': st.one_of(st.sampled_from(['en', 'de', 'fr', 'EN', 'de-DE']), anything),
    'amounts': amounts, 'internal_note': anything, 'reply_deadline': datetimes,
    # read-only or unknown fields
    'status': anything, 'decision': anything, 'voucher': anything, 'id': anything, 'secret': anything,
})

# a valid name and address, and the rest fuzzed: so that creating also succeeds, with odd but valid values
plausible_grant = st.fixed_dictionaries({
    'name': st.text(st.characters(exclude_categories=['Cs', 'Cc']), min_size=1, max_size=255),
    'email': st.emails(),
}, optional={'locale': st.sampled_from(['en', 'de', 'fr']), 'amounts': amounts, 'internal_note': anything,
             'reply_deadline': datetimes})


def bodies(fields):
    """What is posted: usually a JSON object, sometimes other JSON, sometimes no JSON at all."""
    as_json = fields.map(lambda d: ('json', d))
    return st.one_of(
        as_json, as_json, as_json,
        junk.map(lambda d: ('json', d)),
        st.binary(max_size=200).map(lambda b: ('raw', b)),
        st.sampled_from([b'', b'{', b'{"name": "\\ud800"}', b'\xff\xfe', b'[]', b'null', b'{"a": NaN}']).map(
            lambda b: ('raw', b)),
    )


def encode(kind, body):
    # ensure_ascii turns lone surrogates and NUL into \u escapes: valid JSON that decodes to them
    return json.dumps(body, ensure_ascii=True) if kind == 'json' else body


# --- fixtures and checks


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
@scopes_disabled()
def grants(event, make_grant, grant_settings, item):
    """One grant in each state the actions care about, and vouchers link_voucher may find."""
    event.vouchers.create(code='FREE', item=item, price_mode='set', value=Decimal('0'))
    event.vouchers.create(code='HALF', item=item, price_mode='percent', value=Decimal('50'))
    return {
        'pending': make_grant(Grant.STATUS_PENDING, name='Pat', email='pat@example.org'),
        'approved': make_grant(Grant.STATUS_APPROVED, name='Ada', email='ada@example.org'),
        'confirmed': make_grant(Grant.STATUS_CONFIRMED, name='Cy', email='cy@example.org',
                                reply_deadline=now() + timedelta(days=3)),
        'rejected': make_grant(Grant.STATUS_REJECTED, name='Rae', email='rae@example.org'),
    }


@scopes_disabled()
def snapshot(grant=None):
    """Everything a request may change: the grant's row and log, and how many grants, logs, mails, vouchers exist."""
    return (
        list(Grant.objects.filter(pk=grant.pk).values()) if grant else None,
        list(LogEntry.objects.filter(content_type__model='grant', object_id=grant.pk).values_list('pk', 'data'))
        if grant else None,
        Grant.objects.count(), LogEntry.objects.count(), GrantMail.objects.count(), OutgoingMail.objects.count(),
        Voucher.objects.count(), list(Voucher.objects.order_by('pk').values()), len(djmail.outbox),
    )


def has_message(r):
    try:
        data = r.json()
    except ValueError:
        return False
    return bool(data) and (isinstance(data, dict) or isinstance(data, list))


def check_api(r, before, grant=None):
    """Not a 500 (the client would have raised); 2xx, or a 4xx with a message that changed nothing."""
    assert r.status_code < 500
    if r.status_code >= 400:
        assert r.status_code in (400, 404, 410, 415), (r.status_code, r.content[:300])
        assert has_message(r), r.content[:300]
        assert snapshot(grant) == before
    return r


class Timer:
    """Counts examples by their answer and prints them with the wall time, for the record."""

    def __init__(self, label):
        self.label, self.start, self.answers = label, time.monotonic(), Counter()

    @property
    def n(self):
        return sum(self.answers.values())

    def tick(self, answer):
        self.answers[answer] += 1

    def report(self):
        answers = ', '.join(f'{k}: {v}' for k, v in sorted(self.answers.items(), key=str))
        print(f'\n{self.label}: {self.n} examples in {time.monotonic() - self.start:.1f} s ({answers})')

    def check(self, accepted, rejected=(400,), examples=EXAMPLES):
        """All examples ran, and they reached both sides: accepted and rejected requests."""
        assert self.n >= examples
        assert any(self.answers[a] for a in accepted) and any(self.answers[a] for a in rejected), self.answers


@pytest.fixture
def timer(request):
    t = Timer(request.node.name)
    yield t
    t.report()


def api_url(event, path=''):
    return f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/{path}'


# --- the API


@pytest.mark.django_db
def test_fuzz_create(api, event, grants, timer):
    @FUZZ
    @given(body=bodies(st.one_of(grant_fields, grant_fields, grant_fields, plausible_grant)))
    def run(body):
        with rolled_back():
            before = snapshot()
            r = check_api(api.post(api_url(event), encode(*body), content_type='application/json'), before)
            timer.tick(r.status_code)
            if r.status_code == 201:
                with scopes_disabled():
                    g = Grant.objects.get(pk=r.json()['id'])
                assert g.event == event and g.status == Grant.STATUS_PENDING and g.decision is None
                assert api.get(api_url(event, f'{g.pk}/')).json()['name'] == g.name

    run()
    timer.check(accepted=(201,))


@pytest.mark.django_db
def test_fuzz_update(api, event, grants, timer):
    @FUZZ
    @given(state=st.sampled_from(list(grants)), body=bodies(grant_fields))
    def run(state, body):
        grant = grants[state]
        with rolled_back():
            before = snapshot(grant)
            r = check_api(api.patch(api_url(event, f'{grant.pk}/'), encode(*body), content_type='application/json'),
                          before, grant)
            timer.tick(r.status_code)
            if r.status_code == 200:
                with scopes_disabled():
                    g = Grant.objects.get(pk=grant.pk)
                kept = (grant.status, grant.decision, grant.voucher_id, grant.secret)
                assert (g.status, g.decision, g.voucher_id, g.secret) == kept

    run()
    timer.check(accepted=(200,))


ACTION_FIELDS = {
    'decide': st.fixed_dictionaries({}, optional={'decision': st.one_of(
        st.sampled_from(['approved', 'waiting_list', 'rejected', 'confirmed', 'pending', None, 'APPROVED']), anything)}),
    'confirm': st.fixed_dictionaries({}, optional={'reason': anything}),
    'refuse': st.fixed_dictionaries({}, optional={'reason': anything}),
    'cancel': st.fixed_dictionaries({}, optional={'reason': anything}),
    'link_voucher': st.fixed_dictionaries({}, optional={'code': st.one_of(
        st.sampled_from(['FREE', 'free', ' HALF ', 'NOPE', 'FREE\x00', 'F%', '_', '%']), anything)}),
}


@pytest.mark.django_db
def test_fuzz_actions(api, event, grants, timer):
    @FUZZ
    @given(state=st.sampled_from(list(grants)), action_body=st.sampled_from(list(ACTION_FIELDS)).flatmap(
        lambda a: st.tuples(st.just(a), bodies(ACTION_FIELDS[a]))))
    def run(state, action_body):
        action, body = action_body
        grant = grants[state]
        with rolled_back():
            before = snapshot(grant)
            r = check_api(api.post(api_url(event, f'{grant.pk}/{action}/'), encode(*body),
                                   content_type='application/json'), before, grant)
            timer.tick(r.status_code)
            if r.status_code == 200:
                assert r.json()['id'] == grant.pk

    run()
    timer.check(accepted=(200,))


# --- the grantee's page

secrets = st.one_of(
    st.text(max_size=80),
    st.text(st.sampled_from('ABCabc019_-'), min_size=0, max_size=70),
    st.sampled_from(['', 'a', '-' * 16, '_' * 64, 'A' * 65, '..', '%00', '%2F', 'a/b', '\x00' * 20]),
)


def check_page(r, before, grant=None, ok=(200,)):
    """The page, a redirect to itself, or a 4xx with a message (pretix's answer to NUL: "Invalid characters")."""
    if r.status_code in ok:
        return True
    assert 400 <= r.status_code < 500 and r.content, r.status_code
    assert snapshot(grant) == before
    return False


form_values = st.one_of(odd_text, st.sampled_from(['confirm', 'decline', 'yes', 'CONFIRM', 'confirm ', 'no']))
form_keys = st.one_of(st.sampled_from(['answer', 'really', 'wait', 'csrfmiddlewaretoken', 'grant', 'secret', 'status',
                                       'answer[]']), odd_text)
form_data = st.lists(st.tuples(form_keys, form_values), max_size=6)


def query(pairs):
    return urlencode(pairs, errors='surrogatepass')


@pytest.mark.django_db
def test_fuzz_grantee_page(client, event, grants, timer):
    base = f'/{event.organizer.slug}/{event.slug}/grant/'
    known = {g.secret for g in grants.values()}
    for g in grants.values():
        client.get(f'{base}{g.secret}/')  # the first visit is logged once, before the examples
    malformed = st.one_of(secrets, st.sampled_from(sorted(known)).flatmap(
        lambda s: st.sampled_from([s[:16] + s[17:], s[:-1], s + 'x', s.swapcase(), s[::-1], s[:16]])))

    @FUZZ
    @given(state=st.sampled_from(list(grants)), secret=st.one_of(st.none(), malformed),
           method=st.sampled_from(['get', 'post', 'post']), pairs=form_data)
    def run(state, secret, method, pairs):
        grant = grants[state]
        with rolled_back():
            if secret is not None and secret not in known:
                # a made-up or mangled secret: 404, whatever is sent with it
                before = snapshot()
                try:
                    r = getattr(client, method)(f'{base}{secret}/?{query(pairs)}', {'answer': 'confirm'})
                except UnicodeEncodeError:
                    timer.tick('unsendable')
                    return  # the test client cannot send such a URL; neither can a browser
                timer.tick(r.status_code)
                if check_page(r, before, ok=(404,)):
                    assert snapshot() == before
                return
            path = f'{base}{grant.secret}/'
            before = snapshot(grant)
            others = [(g, snapshot(g)[:2]) for g in grants.values() if g != grant]
            if method == 'get':
                r = client.get(f'{path}?{query(pairs)}')
                timer.tick(r.status_code)
                if check_page(r, before, grant):
                    assert snapshot(grant) == before
                return
            body = query(pairs)
            r = client.post(path, body, content_type='application/x-www-form-urlencoded')
            timer.tick(r.status_code)
            if not check_page(r, before, grant, ok=(200, 302)):
                return
            if r.status_code == 302:
                assert r.url == path
            data = QueryDict(body)
            action, really = data.get('answer'), data.get('really')
            with scopes_disabled():
                after = Grant.objects.get(pk=grant.pk)
            if action == 'confirm' and state == 'approved':
                assert after.status == Grant.STATUS_CONFIRMED
            elif action == 'decline' and really == 'yes' and state in ('approved', 'confirmed'):
                assert after.status == Grant.STATUS_REFUSED
            else:
                assert snapshot(grant) == before
            assert [(g, snapshot(g)[:2]) for g, o in others] == others

    run()
    timer.check(accepted=(200, 302), rejected=(400, 404))


# --- ids in URLs and forms: whatever the URL pattern or the form lets through must not reach the database unchecked

hex_ids = st.one_of(st.text(st.sampled_from('0123456789abcdef-'), min_size=1, max_size=40),
                    st.text(st.sampled_from('0123456789abcdef-'), min_size=36, max_size=36), st.uuids().map(str))


@pytest.mark.django_db
def test_fuzz_publish_status_ids(api, event, grants, timer):
    @settings(FUZZ, max_examples=max(EXAMPLES // 5, 50))
    @given(asyncid=st.text(st.sampled_from('abc123-_.'), min_size=1, max_size=40), cfid=hex_ids)
    def run(asyncid, cfid):
        with rolled_back():
            before = snapshot()
            r = check_api(api.get(api_url(event, f'publish/{asyncid}/{cfid}/')), before)
            timer.tick(r.status_code)
            assert r.status_code == 410 and r.json()['status'] == 'gone'

    run()
    assert timer.n >= max(EXAMPLES // 5, 50)


@pytest.mark.django_db
def test_fuzz_control_panel_action_and_import_ids(admin_client, event, grants, timer):
    grant = grants['approved']
    with scopes_disabled():
        mail = GrantMail.objects.create(grant=grant, kind=GrantMail.KIND_DECISION)

    @settings(FUZZ, max_examples=max(EXAMPLES // 5, 50))
    @given(mail_id=st.one_of(odd_text, st.integers(-2**80, 2**80).map(str), st.just(str(mail.pk))),
           file_id=hex_ids, other=st.dictionaries(st.sampled_from(['operation', 'decision', 'reason', 'code']), odd_text))
    def run(mail_id, file_id, other):
        with rolled_back():
            before = snapshot(grant)
            body = query({**other, 'operation': 'retry_mail', 'mail': mail_id})
            r = admin_client.post(f'/control/event/{event.organizer.slug}/{event.slug}/grants/{grant.pk}/action/',
                                  body, content_type='application/x-www-form-urlencoded')
            timer.tick(r.status_code)
            assert r.status_code in (302, 400) and snapshot(grant) == before  # nothing to retry: a message, no change
            r = admin_client.get(f'/control/event/{event.organizer.slug}/{event.slug}/grants/import/{file_id}/')
            timer.tick(r.status_code)
            assert r.status_code == 404

    run()
    assert timer.answers[302] and timer.answers[404]


big_ids = st.one_of(st.integers(-2**80, 2**80), st.sampled_from([0, -1, 2**63 - 1, 2**63, 10**30]))


@pytest.mark.django_db
def test_fuzz_publish_all_ids(api, event, grants, timer):
    @settings(FUZZ, max_examples=max(EXAMPLES // 5, 50))
    @example(ids=[g.pk for g in grants.values()])  # one accepted and one refused request, whatever is drawn
    @example(ids=[])
    @given(ids=st.one_of(st.lists(st.one_of(big_ids, st.sampled_from([g.pk for g in grants.values()])), max_size=4),
                         anything))
    def run(ids):
        with rolled_back():
            before = snapshot()
            r = check_api(api.post(api_url(event, 'publish/'), json.dumps({'ids': ids}),
                                   content_type='application/json'), before)
            timer.tick(r.status_code)

    run()
    timer.check(accepted=(202,), examples=max(EXAMPLES // 5, 50))


@pytest.mark.django_db
def test_fuzz_bulk_action_ids(admin_client, event, grants, timer):
    @settings(FUZZ, max_examples=max(EXAMPLES // 5, 50))
    @given(ids=st.lists(st.one_of(big_ids.map(str), odd_text), min_size=1, max_size=4),
           run_id=st.one_of(st.uuids().map(str), odd_text))
    def run(ids, run_id):
        with rolled_back():
            others = [g for g in grants.values() if str(g.pk) not in ids]
            before = [snapshot(g)[:2] for g in others]
            body = query([('operation', 'cancel'), ('scope', 'selected'), ('run', run_id)] + [('grant', i) for i in ids])
            r = admin_client.post(f'/control/event/{event.organizer.slug}/{event.slug}/grants/bulk/', body,
                                  content_type='application/x-www-form-urlencoded')
            timer.tick(r.status_code)
            assert r.status_code in (302, 400)
            assert [snapshot(g)[:2] for g in others] == before  # grants that were not selected

    run()
    assert timer.answers[302]
