"""
The benchmarks of `make bench`, one function per scenario. Each builds its own event, measures, and returns result
rows (dicts) for the table. They run unchanged at a tiny N in the test suite (tests/test_bench_smoke.py), where
tasks are eager and mail goes to Django's outbox, and at full size under bench/run.py against PostgreSQL, Redis,
real Celery workers and an SMTP sink.
"""
import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max, Min
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from pretix.base.i18n import language
from pretix.base.models import (
    Event, LogEntry, Organizer, OutgoingMail, User, Voucher,
)
from pretix.base.models.vouchers import generate_codes
from pretix.base.services.mail import mail
from pretix.base.services.vouchers import vouchers_send

from pretix_grants import issuance, mails, workflow
from pretix_grants.control import bulk
from pretix_grants.models import Grant

BATCH = 5000


def row(scenario, n=None, seconds=None, queries=None, note='', per=None, cpu=None):
    """
    One line of the table; ``per`` is what the rate counts (vouchers, mails), if a rate makes sense; ``cpu`` the
    busy CPU seconds of the whole machine meanwhile (``Clock``).
    """
    return {'scenario': scenario, 'n': n, 'seconds': seconds, 'queries': queries, 'note': note,
            'rate': (n / seconds) if (per and n and seconds) else None, 'per': per, 'cpu': cpu}


def cpu_now():
    """
    Busy CPU time of the whole machine so far, in seconds (/proc/stat): this process, the workers, the web
    server, PostgreSQL, Redis and the SMTP sink alike, so the cost of a scenario shows whatever process pays it.
    """
    try:
        with open('/proc/stat') as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf('SC_CLK_TCK')


class Clock:
    """Wall time and the machine's busy CPU time since the clock was made."""

    def __init__(self):
        self.cpu, self.start = cpu_now(), time.monotonic()

    def read(self):
        """``(seconds, cpu seconds)`` so far."""
        return time.monotonic() - self.start, cpu_now() - self.cpu


def organizer(slug='bench'):
    return Organizer.objects.get_or_create(slug=slug, defaults={'name': slug.title()})[0]


def make_event(slug, org=None, size=None):
    """An event with the plugin on and a ticket product for grant vouchers, in a quota of ``size``."""
    org = org or organizer()
    taken = Event.objects.filter(organizer=org, slug__regex=rf'^{slug}(r[0-9]+)?$').count()
    slug = f'{slug}r{taken + 1}' if taken else slug  # another round of the same scenario
    event = Event.objects.create(
        organizer=org, name=f'Bench {slug}', slug=slug, currency='EUR', plugins='pretix_grants', live=True,
        date_from=now() + timedelta(days=60), date_to=now() + timedelta(days=62),
    )
    event.settings.locales = ['en']
    event.settings.locale = 'en'
    item = event.items.create(name='Conference ticket', default_price=Decimal('200.00'), admission=True)
    quota = event.quotas.create(name='Tickets', size=size)
    quota.items.add(item)
    event.settings.grants_voucher_item = item.pk
    return event


def make_grants(event, n, status=Grant.STATUS_CONFIRMED, prefix='grantee'):
    grants = [Grant(event=event, name=f'Grantee {i}', email=f'{prefix}{i}@{event.slug}.example.org', status=status,
                    reply_deadline=now() + timedelta(days=14), travel_amount=Decimal('300.00'))
              for i in range(n)]
    Grant.objects.bulk_create(grants, batch_size=BATCH)
    return list(Grant.objects.filter(event=event).order_by('pk').values_list('pk', flat=True))


def foreign_vouchers(n, org=None):
    """``n`` vouchers of another event, with explicit codes, as fast as the database takes them."""
    event = make_event(f'other{Event.objects.count()}', org=org)
    item = event.items.first()
    for start in range(0, n, BATCH):
        Voucher.objects.bulk_create([
            Voucher(event=event, code=f'OTHER{event.pk}X{i:07d}', item=item, price_mode='percent',
                    value=Decimal('10.00'))
            for i in range(start, min(n, start + BATCH))
        ])
    return event


def voucher_log_bytes(event):
    """The largest ``pretix.voucher.added`` log entry of ``event``, in bytes."""
    return max(len(d) for d in LogEntry.objects.filter(
        action_type='pretix.voucher.added', event=event).values_list('data', flat=True))


def user(email='bench@example.org'):
    u = User.objects.filter(email=email).first()
    return u or User.objects.create_user(email, 'bench')


def wait_delivered(event, expected, sink=None, timeout=1800):
    """
    Seconds until ``expected`` mails of ``event`` are sent by pretix (and, with a sink, have arrived there). With
    tasks eager (the smoke test) they already are.
    """
    start = time.monotonic()
    while True:
        pending = OutgoingMail.objects.filter(event=event).exclude(status=OutgoingMail.STATUS_SENT)
        if sink is None or sink.count(event) >= expected:
            if not pending.exists() and OutgoingMail.objects.filter(event=event).count() >= expected:
                waited = time.monotonic() - start
                if os.environ.get('BENCH_VERBOSE'):
                    span = OutgoingMail.objects.filter(event=event).aggregate(a=Min('created'), b=Max('sent'))
                    print(f'  {event.slug}: waited {waited:.1f}s, mails created..last sent {span["b"] - span["a"]}, '
                          f'with an error recorded: {OutgoingMail.objects.filter(event=event, error__isnull=False).count()}, '
                          f'sink {sink.count(event) if sink else "-"}', flush=True)
                return waited
        failed = OutgoingMail.objects.filter(event=event, status=OutgoingMail.STATUS_FAILED).count()
        if failed:
            raise RuntimeError(f'{failed} mails of {event.slug} failed')
        if time.monotonic() - start > timeout:
            raise RuntimeError(f'mails of {event.slug} not delivered after {timeout}s')
        time.sleep(0.2)


# 1. One confirmation

def _confirm_once(event, pk):
    """Confirm, then what the issuance task does, as two transactions: (queries, seconds)."""
    g = Grant.objects.get(pk=pk)
    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        workflow.confirm(g)
        issuance.issue_voucher(pk, event=event)
        seconds = time.perf_counter() - t
    assert Grant.objects.get(pk=pk).voucher_state == Grant.VOUCHER_ISSUED
    return len(ctx.captured_queries), seconds


def confirmation(repeat=20, foreign=100_000):
    """
    Queries and time of one confirmation through to the voucher mail queued (the send itself is a worker's job
    after commit), in an empty database and with ``foreign`` vouchers of another event of the same organizer.
    """
    rows = []
    results = {}
    for label, extra in (('empty database', 0), (f'{foreign:,} other vouchers', foreign)):
        if extra:
            foreign_vouchers(extra)
        event = make_event(f'confirm{len(results)}')
        pks = make_grants(event, repeat + 2, status=Grant.STATUS_APPROVED)
        for pk in pks[:2]:  # warm caches (settings, content types), as in a running pretix
            _confirm_once(event, pk)
        runs = [_confirm_once(event, pk) for pk in pks[2:]]
        queries = max(q for q, s in runs)
        median = statistics.median(s for q, s in runs)
        results[label] = median
        base = results.get('empty database')
        note = f'{median / base:.2f}x the empty case' if base and extra else 'median of %d' % len(runs)
        rows.append(row(f'One confirmation -> voucher -> mail queued ({label})', 1, median, queries, note))
    return rows


# 2. Bulk "issue vouchers and email"

def plugin_bulk(n, sink=None, deliver=True):
    """
    (a) The control panel's bulk issue action (its task body, ``bulk.run_issue``) over ``n`` confirmed grants.
    Without ``deliver``, only until every voucher is committed; the owed mails are left to the workers.
    """
    event = make_event(f'plugin{n}', size=2 * n)
    ids = make_grants(event, n)
    u = user()
    marks = {}

    def progress(value):
        if value >= 100:  # the last batch has committed
            marks['issued'] = clock.read()

    clock = Clock()
    results = bulk.run_issue(event, ids, user=u, progress=progress, deliver_here=deliver)
    issued, issued_cpu = marks['issued']
    if not deliver:
        return [row('(a) plugin bulk issue: vouchers committed and logged', n, issued, per='vouchers',
                    note='mails not waited for at this N', cpu=issued_cpu)]
    assert sum(1 for r in results if r['result'] == bulk.DONE) == n, results[:3]
    wait_delivered(event, n, sink)
    delivered, cpu = clock.read()
    log_bytes = voucher_log_bytes(event)
    return [
        row('(a) plugin bulk issue: vouchers committed and logged', n, issued, note=f'voucher log {log_bytes} B',
            per='vouchers', cpu=issued_cpu),
        row('(a) plugin bulk issue: all mails delivered', n, delivered, per='mails', cpu=cpu),
    ]


def pretix_bulk(n, sink=None):
    """
    (c) pretix's bulk voucher creation with its mail step, as its control view's task does it: codes, vouchers
    and log entries in batches of 500 (each entry holding the form data, recipient list included), then
    ``vouchers_send``, all in one transaction.
    """
    event = make_event(f'pretix{n}', size=2 * n)
    item = event.items.first()
    u = user()
    recipients = [{'email': f'person{i}@{event.slug}.example.org', 'number': 1, 'name': f'Person {i}', 'tag': ''}
                  for i in range(n)]
    subject, text = mails.template(event, 'voucher')
    message = str(text).replace('{voucher_code}', '{voucher_list}').replace('{redeem_url}', '{url}')
    clock = Clock()
    with transaction.atomic():
        codes = generate_codes(event.organizer, n)
        form_data = {
            'max_usages': 1, 'valid_until': event.date_to.isoformat(), 'block_quota': True,
            'allow_ignore_quota': False, 'price_mode': 'set', 'value': '0.00', 'item': item.pk, 'tag': 'grant',
            'comment': '', 'send': True, 'send_subject': str(subject), 'send_message': message,
            'send_recipients': [[r['number'], r['name'], r['email'], r['tag']] for r in recipients],
            'bulk': True, 'source': 'control_bulk',
        }
        ids = []
        for start in range(0, n, 500):
            batch = [Voucher(event=event, code=c, max_usages=1, valid_until=event.date_to, block_quota=True,
                             price_mode='set', value=Decimal('0.00'), item=item, tag='grant')
                     for c in codes[start:start + 500]]
            Voucher.objects.bulk_create(batch)
            LogEntry.bulk_create_and_postprocess([
                v.log_action('pretix.voucher.added', data=dict(form_data, code=v.code), user=u, save=False)
                for v in batch
            ])
            ids += [v.pk for v in batch]
        vouchers_send(event=event, vouchers=ids, subject=str(subject), message=message, recipients=recipients,
                      user=u.pk)
    created, created_cpu = clock.read()
    wait_delivered(event, n, sink)
    delivered, cpu = clock.read()
    log_bytes = voucher_log_bytes(event)
    return [
        row('(c) pretix bulk vouchers + vouchers_send: committed', n, created, note=f'voucher log {log_bytes:,} B',
            per='vouchers', cpu=created_cpu),
        row('(c) pretix bulk vouchers + vouchers_send: all mails delivered', n, delivered, per='mails', cpu=cpu),
    ]


def api_team(event, name):
    """A team of ``event``'s organizer with every permission, and an API token of it."""
    team = event.organizer.teams.create(name=f'{name} {event.slug}', all_events=True, all_event_permissions=True,
                                        all_organizer_permissions=True)
    return team.tokens.create(name=name).token


def rest_api(n, post, sink=None):
    """
    (b) What a separate grants app does today: one ``POST .../vouchers/`` per grantee with a team's API token and
    no code (so pretix makes one), then one ``mail()`` per grant with the code it got back, all in sequence.
    ``post(path, data, token)`` returns ``(status, body)``: over HTTP to pretix under gunicorn in bench/run.py,
    through Django's test client in the smoke test.
    """
    event = make_event(f'rest{n}', size=2 * n)
    item = event.items.first()
    token = api_team(event, 'Grants app')
    path = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/vouchers/'
    grantees = [(f'Grantee {i}', f'rest{i}@{event.slug}.example.org') for i in range(n)]
    for _ in range(4):  # warm the server's processes up (imports, URL patterns), as a running pretix is
        post(path, {}, token)
    clock = Clock()
    codes = []
    for name, email in grantees:
        status, body = post(path, {
            'item': item.pk, 'max_usages': 1, 'price_mode': 'set', 'value': '0.00', 'block_quota': True,
            'valid_until': event.date_to.isoformat(), 'tag': 'grant', 'comment': f'Grant for {name} <{email}>',
        }, token)
        if status != 201:
            raise RuntimeError(f'the voucher API answered {status}: {body}')
        codes.append(body['code'])
    created, created_cpu = clock.read()
    subject, text = mails.template(event, 'voucher')
    with language('en', event.settings.region):
        for (name, email), code in zip(grantees, codes):
            mail(email, subject, text, {'name': name, 'voucher_code': code, 'event': str(event.name),
                                        'redeem_url': mails.redeem_url(event, code)}, event, 'en')
    wait_delivered(event, n, sink)
    delivered, cpu = clock.read()
    foreign = Voucher.objects.exclude(event=event).count()
    return [
        row('(b) per-grant REST API: vouchers created', n, created, per='vouchers', cpu=created_cpu,
            note=f'{foreign:,} other vouchers in the database'),
        row('(b) per-grant REST API: all mails delivered', n, delivered, per='mails', cpu=cpu),
    ]


def mail_floor(n, sink=None):
    """
    (f) The floor: ``n`` bare pretix ``mail()`` calls with the plugin's voucher template and its placeholders
    already rendered, in transactions of ``issuance.BATCH_SIZE``, delivered by the same workers.
    """
    event = make_event(f'floor{n}')
    subject, text = mails.template(event, 'voucher')
    contexts = [{'name': f'Grantee {i}', 'voucher_code': f'FLOOR{i:07d}',
                 'redeem_url': mails.redeem_url(event, f'FLOOR{i:07d}'), 'event': str(event.name)}
                for i in range(n)]
    clock = Clock()
    for start in range(0, n, issuance.BATCH_SIZE):
        with transaction.atomic(), language('en', event.settings.region):
            for i in range(start, min(n, start + issuance.BATCH_SIZE)):
                mail(f'floor{i}@{event.slug}.example.org', subject, text, contexts[i], event, 'en')
    queued, queued_cpu = clock.read()
    wait_delivered(event, n, sink)
    delivered, cpu = clock.read()
    return [
        row('(f) floor: bare mail() calls queued', n, queued, per='mails', cpu=queued_cpu),
        row('(f) floor: bare mail() calls, all delivered', n, delivered, per='mails', cpu=cpu),
    ]


# 3. Organizer list page and API list

def _measure(get, repeat=3):
    get()  # warm
    runs = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            r = get()
            runs.append((len(ctx.captured_queries), time.perf_counter() - t))
        assert r.status_code == 200, r.status_code
    return max(q for q, s in runs), statistics.median(s for q, s in runs)


def list_pages(n):
    from rest_framework.test import APIClient

    event = make_event(f'list{n}')
    statuses = [s for s, _ in Grant.STATUS_CHOICES]
    grants = [Grant(event=event, name=f'Grantee {i}', email=f'list{i}@example.org', status=statuses[i % len(statuses)],
                    travel_amount=Decimal('300.00')) for i in range(n)]
    Grant.objects.bulk_create(grants, batch_size=BATCH)
    u = user('lists@example.org')
    token = api_team(event, 'Bench')
    event.organizer.teams.get(name=f'Bench {event.slug}').members.add(u)
    client = Client()
    client.force_login(u)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION='Token ' + token)
    base = f'/control/event/{event.organizer.slug}/{event.slug}/grants/'
    api_base = f'/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/grants/'
    last = max(1, (n + 49) // 50)
    rows = []
    for label, get in (
        ('Organizer list page, first page', lambda: client.get(base)),
        ('Organizer list page, last page', lambda: client.get(f'{base}?page={last}')),
        ('Organizer list page, filtered and searched', lambda: client.get(f'{base}?status=approved&query=Grantee+1')),
        ('API list, first page', lambda: api.get(api_base)),
        ('API list, filtered', lambda: api.get(f'{api_base}?status=approved')),
    ):
        queries, seconds = _measure(get)
        rows.append(row(f'{label} ({n:,} grants)', n, seconds, queries, 'server time, median of 3'))
    return rows
