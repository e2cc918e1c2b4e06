"""
`make bench-burst`: the grantees' side under load, on the production shape, all on loopback: pretix under gunicorn
(2 workers per core, as pretix's container image runs it), PostgreSQL, Redis (databases 10-12), Celery workers and
the SMTP sink of bench/run.py; the load from locust (bench/locustfile.py), headless, bounded in users, spawn rate
and time, and stopping by itself once every simulated visitor is through.

Decision day: N grants decided and published (their decision mails delivered first); then the grantees arrive as a
burst and each opens the reply page, confirms, reloads until the voucher shows, opens "Get your ticket" and adds
the ticket to the cart, while, in the same run and at the same concurrency, visitors of pretix's own pages (front
page, redeem page with a plain voucher, cart add) serve as the anchor. The organizer's bulk issue of N vouchers is
measured in the same run for the mail time's comparison.

Application opening: M applications through the shop's form from M client addresses, plus a few clients sending
more than the rate limit allows.

Writes its section of bench/results.md (the tables of bench/run.py stay) and bench/burst-latency.png.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import redis
from PIL import Image, ImageDraw, ImageFont

from bench.run import (
    HOST, REDIS_DBS, ROOT, database, prepare, release_lock, request,
    start_server, start_workers, stop, write_results,
)

SECTION = '## Burst: decision day and application opening'
ANCHOR = 'pretix: redeem page (plain voucher)'
COMPARED = ('grant: reply page', 'grant: confirm (POST)')


STARTED = time.monotonic()


def say(text):
    print(f'[{time.monotonic() - STARTED:6.1f} s] {text}', flush=True)


def path(url):
    parts = urlsplit(url)
    return parts.path + (f'?{parts.query}' if parts.query else '')


def gunicorn_workers():
    """pretix's container image starts 2 gunicorn workers per core."""
    return 2 * (os.cpu_count() or 1)


def run_locust(plan, args, port, workdir, name):
    """Run locust headless on ``plan``; returns (locust's figures per request name, what the visitors saw, seconds)."""
    plan = dict(plan, outcome=str(workdir / f'{name}-outcome.json'), stats=str(workdir / f'{name}-stats.json'),
                think_min=args.think_min, think_max=args.think_max)
    plan_file = workdir / f'{name}-plan.json'
    plan_file.write_text(json.dumps(plan))
    env = dict(os.environ, BENCH_BURST_PLAN=str(plan_file))
    started = time.monotonic()
    with open(workdir / f'{name}-locust.log', 'w') as log:
        subprocess.run(
            [sys.executable, '-m', 'locust', '-f', str(ROOT / 'bench' / 'locustfile.py'), '--headless',
             '--users', str(args.users), '--spawn-rate', str(args.spawn_rate), '--run-time', args.run_time,
             '--stop-timeout', '10', '--host', f'http://127.0.0.1:{port}', '--only-summary',
             '--loglevel', 'INFO', '--exit-code-on-error', '0'],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
        )
    seconds = time.monotonic() - started
    stats = json.loads(Path(plan['stats']).read_text())
    outcome = json.loads(Path(plan['outcome']).read_text())
    return stats, outcome, seconds


def stat_rows(stats):
    """locust's figures per request name, grantees' requests first."""
    return sorted(stats, key=lambda r: (not r['name'].startswith('grant'), r['name']))


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f'{what}: not after {timeout} s')
        time.sleep(0.5)


def warm_up(port, paths, workers, times):
    """Each page ``times`` per gunicorn worker, so no worker's first request (imports, templates) is measured."""
    for p in paths:
        for _ in range(times * workers):
            request(port, 'GET', p)


PY_SPY = shutil.which('py-spy') or str(Path(sys.executable).parent / 'py-spy')


class Profiler:
    """py-spy on each gunicorn worker while locust runs (``--profile DIR``): one folded-stack file per worker."""

    def __init__(self, server, outdir):
        self.procs = []
        self.outdir = Path(outdir)
        self.outdir.mkdir(parents=True, exist_ok=True)
        children = Path(f'/proc/{server.pid}/task/{server.pid}/children').read_text().split()
        for pid in children:
            self.procs.append(subprocess.Popen(
                [PY_SPY, 'record', '--pid', pid, '--rate', '50', '--format', 'raw', '--nonblocking',
                 '--output', str(self.outdir / f'worker-{pid}.txt')],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


# --- decision day ---

def decision_day(args, port, sink, workdir, workers, profile=None):
    from django.utils.timezone import now
    from pretix.base.models import LogEntry, Voucher

    from bench import scenarios
    from pretix_grants import mails, workflow
    from pretix_grants.models import Grant, GrantMail

    n = args.grants
    result = {'n': n}
    if not args.no_bulk:
        say(f'decision day: the organizer\'s bulk issue of {n} vouchers, for comparison ...')
        bulk = scenarios.plugin_bulk(n, sink)
        result['bulk_seconds'] = bulk[1]['seconds']

    say(f'decision day: {n} grants decided and published ...')
    event = scenarios.make_event(f'decision{n}')
    item = event.items.first()
    grants = [Grant(event=event, name=f'Grantee {i}', email=f'grantee{i}@{event.slug}.example.org',
                    status=Grant.STATUS_PENDING, decision=Grant.STATUS_APPROVED, ticket=True) for i in range(n + 1)]
    Grant.objects.bulk_create(grants, batch_size=scenarios.BATCH)
    started = time.monotonic()
    for g in Grant.objects.filter(event=event).order_by('pk'):
        g.event = event
        workflow.publish(g)
    result['publish_seconds'] = time.monotonic() - started
    wait_for(lambda: sink.count(event) >= n + 1, 1800, 'decision mails')
    baseline = sink.count(event)
    plain = Voucher.objects.create(event=event, code='BENCHPLAIN', item=item, max_usages=10 ** 6,
                                   price_mode='percent', value=10)
    grants = list(Grant.objects.filter(event=event).order_by('pk'))
    spare, grants = grants[0], grants[1:]  # the spare one warms the reply page up and is never confirmed
    event_path = f'/{event.organizer.slug}/{event.slug}/'
    plan = {
        'scenario': 'decision', 'host': HOST, 'event_path': event_path, 'plain_voucher': plain.code,
        'grants': random.Random(n).sample([path(mails.reply_url(g)) for g in grants], n),
        'grantee_weight': args.grantee_weight, 'shopper_weight': args.shopper_weight,
    }
    warm_up(port, [event_path, f'{event_path}redeem?voucher={plain.code}', path(mails.reply_url(spare))], workers, args.warm_up)

    say(f'decision day: {args.users} visitors arriving at {args.spawn_rate}/s ...')
    profiler = Profiler(profile[0], profile[1]) if profile else None
    stats, outcome, seconds = run_locust(plan, args, port, workdir, 'decision')
    if profiler:
        profiler.stop()
    confirmed = Grant.objects.filter(event=event, status=Grant.STATUS_CONFIRMED).count()
    try:
        wait_for(lambda: sink.count(event) >= baseline + confirmed, 600, 'voucher mails')
    except RuntimeError as e:
        print(e, flush=True)
    confirmations = LogEntry.objects.filter(
        action_type='pretix_grants.grant.confirmed', object_id__in=[g.pk for g in grants],
    ).order_by('datetime').values_list('datetime', flat=True)
    first, last_confirmed = (confirmations[0], confirmations[len(confirmations) - 1]) if confirmations else (None, None)
    last_mail = sink.last_arrival(event)
    delays = mail_delays(event, grants)
    result.update({
        'rows': stat_rows(stats), 'locust_seconds': seconds, 'outcome': outcome,
        'confirmed_grants': confirmed,
        'vouchers': Voucher.objects.filter(event=event).exclude(pk=plain.pk).count(),
        'vouchers_issued': Grant.objects.filter(event=event, voucher_state__in=Grant.VOUCHER_STATES_DONE).count(),
        'voucher_mail_records': GrantMail.objects.filter(grant__event=event, kind=GrantMail.KIND_VOUCHER).count(),
        'voucher_mails_at_sink': sink.count(event) - baseline,
        'grantees_with_code': len(outcome['codes']),
        'grantee_carts': outcome['carts'],
        'server_errors': sum(outcome['server_errors'].values()),
        'first_confirmation_to_last_mail': (last_mail - first.timestamp()) if first and last_mail else None,
        'confirmation_span': (last_confirmed - first).total_seconds() if first else None,
        'last_confirmation_to_last_mail': (last_mail - last_confirmed.timestamp()) if first and last_mail else None,
        'checked_at': now().isoformat(),
        'mail_delay_p50': delays[len(delays) // 2] if delays else None,
        'mail_delay_max': delays[-1] if delays else None,
    })
    by = {r['name']: r for r in result['rows']}
    if ANCHOR in by and by[ANCHOR]['p99']:
        result['ratios'] = {name: by[name]['p99'] / by[ANCHOR]['p99'] for name in COMPARED if name in by}
    return result


def mail_delays(event, grants):
    """Seconds from each grant's confirmation to pretix's sending of its voucher mail, sorted."""
    from pretix.base.models import LogEntry

    from pretix_grants.models import GrantMail

    confirmed = dict(LogEntry.objects.filter(
        action_type='pretix_grants.grant.confirmed', object_id__in=[g.pk for g in grants],
    ).values_list('object_id', 'datetime'))
    sent = GrantMail.objects.filter(grant__event=event, kind=GrantMail.KIND_VOUCHER,
                                    outgoing_mail__sent__isnull=False).values_list('grant_id', 'outgoing_mail__sent')
    return sorted((at - confirmed[pk]).total_seconds() for pk, at in sent if pk in confirmed)


# --- application opening ---

def application_opening(args, port, sink, workdir, workers):
    from django.utils.timezone import now

    from bench import scenarios
    from pretix_grants.applications import MAX_APPLICATIONS
    from pretix_grants.models import Grant, GrantMail

    m = args.applications
    event = scenarios.make_event(f'apply{m}')
    event.settings.grants_applications_open = now() - timedelta(hours=1)
    event.settings.grants_applications_close = now() + timedelta(days=7)
    event_path = f'/{event.organizer.slug}/{event.slug}/'
    per_flooder = MAX_APPLICATIONS + args.over_limit
    plan = {
        'scenario': 'application', 'host': HOST, 'event_path': event_path,
        'apply_path': f'{event_path}grants/apply/', 'domain': f'{event.slug}.example.org',
        'applications': m, 'flood_clients': args.flood_clients, 'per_flooder': per_flooder,
    }
    warm_up(port, [plan['apply_path'], event_path], workers, args.warm_up)
    say(f'application opening: {m} applicants and {args.flood_clients} clients over the limit, '
        f'{args.users} at a time ...')
    stats, outcome, seconds = run_locust(plan, args, port, workdir, 'application')
    accepted = outcome['accepted']
    grants = Grant.objects.filter(event=event)
    try:
        wait_for(lambda: sink.count(event) >= len(accepted), 600, 'application-received mails')
    except RuntimeError as e:
        print(e, flush=True)
    buckets = len(redis.Redis(host='127.0.0.1', port=6379, db=REDIS_DBS[0]).keys(
        'pretix:ratelimit:pretix_grants_apply:*'))
    return {
        'm': m, 'rows': stat_rows(stats), 'locust_seconds': seconds, 'outcome': outcome,
        'accepted': len(accepted), 'expected_accepted': m + args.flood_clients * MAX_APPLICATIONS,
        'grants': grants.count(), 'distinct_emails': grants.values('email').distinct().count(),
        'accepted_with_grant': grants.filter(email__in=accepted).count(),
        'received_mail_records': GrantMail.objects.filter(grant__event=event, kind=GrantMail.KIND_RECEIVED).count(),
        'received_mails_at_sink': sink.count(event),
        'refused': outcome['refused'], 'expected_refused': args.flood_clients * args.over_limit,
        'refused_with_rate_limit_page': outcome['refused_page'],
        'rate_limit_buckets': buckets, 'expected_buckets': m + args.flood_clients, 'server_errors': sum(outcome['server_errors'].values()),
    }


# --- the report ---

def checks(d, a):
    """Each exactly-once and no-error claim of the run: (text, holds)."""
    out = []
    if d:
        n = d['n']
        out += [
            (f"vouchers {d['vouchers']} = confirmed grants {d['confirmed_grants']} = N {n}",
             d['vouchers'] == d['confirmed_grants'] == n),
            (f"voucher mails: {d['voucher_mails_at_sink']} at the sink, {d['voucher_mail_records']} recorded, N {n}",
             d['voucher_mails_at_sink'] == d['voucher_mail_records'] == n),
            (f"grantees who saw their code {d['grantees_with_code']} and put the ticket in the cart "
             f"{d['grantee_carts']}, N {n}", d['grantees_with_code'] == d['grantee_carts'] == n),
            (f"failed requests {sum(r['failures'] for r in d['rows'])}, 5xx {d['server_errors']}",
             not sum(r['failures'] for r in d['rows']) and not d['server_errors']),
        ]
        if d.get('bulk_seconds') and d.get('mail_delay_max') is not None:
            out.append((f"every voucher mail sent within {d['mail_delay_max']:.1f} s of its confirmation, "
                        f"at most 1.25x the bulk issue's {d['bulk_seconds']:.1f} s",
                        d['mail_delay_max'] <= 1.25 * d['bulk_seconds']))
    if a:
        out += [
            (f"applications accepted {a['accepted']} (expected {a['expected_accepted']}) = grants {a['grants']} "
             f"= distinct emails {a['distinct_emails']} = accepted with a grant {a['accepted_with_grant']}",
             a['accepted'] == a['expected_accepted'] == a['grants'] == a['distinct_emails']
             == a['accepted_with_grant']),
            (f"application-received mails: {a['received_mails_at_sink']} at the sink, "
             f"{a['received_mail_records']} recorded, one per grant",
             a['received_mails_at_sink'] == a['received_mail_records'] == a['grants']),
            (f"over the limit: {a['refused']} refused (expected {a['expected_refused']}), "
             f"{a['refused_with_rate_limit_page']} with the rate-limit page (HTTP 429)",
             a['refused'] == a['expected_refused'] == a['refused_with_rate_limit_page']),
            (f"rate-limit buckets {a['rate_limit_buckets']} = client addresses {a['expected_buckets']}",
             a['rate_limit_buckets'] == a['expected_buckets']),
            (f"failed requests {sum(r['failures'] for r in a['rows'])}, 5xx {a['server_errors']}",
             not sum(r['failures'] for r in a['rows']) and not a['server_errors']),
        ]
    return out


def latency_table(rows):
    lines = ['| Request | Requests | Failures | p50 | p95 | p99 | Requests/s |', '|---|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(f"| {r['name']} | {r['requests']:,} | {r['failures']} | {r['p50']:.0f} ms | {r['p95']:.0f} ms "
                     f"| {r['p99']:.0f} ms | {r['rps']:.1f} |")
    return '\n'.join(lines)


def report(d, a, args, header):
    parts = [SECTION, '', header, '']
    if d:
        parts += [f"### Decision day: N = {d['n']:,} grants, {args.users} visitors at a time "
                  f"(grantees : pretix's own pages = {args.grantee_weight} : {args.shopper_weight})", '',
                  latency_table(d['rows']), '']
        if d.get('ratios'):
            parts.append('p99 against pretix\'s own redeem page in this run: ' + '; '.join(
                f'{name} {v:.2f}x' for name, v in d['ratios'].items()) + '.')
        if d.get('first_confirmation_to_last_mail') is not None:
            text = (f"First confirmation to the last voucher mail at the sink: {d['first_confirmation_to_last_mail']:.1f} s "
                    f"(confirmations spread over {d['confirmation_span']:.1f} s as the grantees arrived; last "
                    f"confirmation to last voucher mail {d['last_confirmation_to_last_mail']:.1f} s)")
            if d.get('bulk_seconds'):
                text += (f"; the organizer's bulk issue of the same N, all mails delivered, took {d['bulk_seconds']:.1f} s "
                         f"in this run ({d['first_confirmation_to_last_mail'] / d['bulk_seconds']:.2f}x)")
            parts.append(text + '.')
        if d.get('mail_delay_max') is not None:
            text = (f"Each grantee's voucher mail was sent {d['mail_delay_p50']:.1f} s (median) and at most "
                    f"{d['mail_delay_max']:.1f} s after their confirmation")
            if d.get('bulk_seconds'):
                text += f" ({d['mail_delay_max'] / d['bulk_seconds']:.2f}x the bulk issue's time for the same N)"
            parts.append(text + '.')
        parts.append(f"Publishing the {d['n']:,} decisions took {d['publish_seconds']:.1f} s before the burst; "
                     f"locust ran {d['locust_seconds']:.0f} s.")
        parts.append('')
    if a:
        parts += [f"### Application opening: M = {a['m']:,} applicants from as many addresses, plus "
                  f"{args.flood_clients} clients sending {args.over_limit} more than the limit, {args.users} at a time",
                  '', latency_table(a['rows']), '', f"locust ran {a['locust_seconds']:.0f} s.", '']
    parts += ['Counted from the database and the sink at the end:', '']
    parts += [f"- {'holds' if ok else 'FAILS'}: {text}" for text, ok in checks(d, a)]
    return '\n'.join(parts) + '\n'


def chart(d, a, out):
    """p50/p95/p99 of each request type as bars, drawn with Pillow; pretix's own pages in grey."""
    rows = (d['rows'] if d else []) + (a['rows'] if a else [])
    rows = [r for r in rows if r['requests']]
    font = ImageFont.load_default()
    label_w, bar_w, row_h, top = 330, 520, 30, 40
    img = Image.new('RGB', (label_w + bar_w + 90, top + row_h * len(rows) + 50), 'white')
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), 'Latency per request type (ms): p50 | p95 | p99, one burst run', fill='black', font=font)
    top_ms = max([r['p99'] for r in rows] + [1])
    for i, r in enumerate(rows):
        y = top + i * row_h
        anchor = r['name'].startswith('pretix')
        draw.text((10, y + 8), r['name'][:52], fill='black', font=font)
        for value, shade in ((r['p99'], 0.35), (r['p95'], 0.6), (r['p50'], 1.0)):
            base = (120, 120, 120) if anchor else (31, 119, 180)
            colour = tuple(int(255 - (255 - c) * shade) for c in base)
            draw.rectangle([label_w, y + 4, label_w + max(1, int(bar_w * value / top_ms)), y + row_h - 6], fill=colour)
        draw.text((label_w + int(bar_w * r['p99'] / top_ms) + 5, y + 8), f"{r['p99']:.0f}", fill='black', font=font)
    anchor_p99 = next((r['p99'] for r in rows if r['name'] == ANCHOR), None)
    if anchor_p99:  # pretix's own redeem page p99, the comparison's yardstick, as a line across the chart
        x = label_w + int(bar_w * anchor_p99 / top_ms)
        for y in range(top, top + row_h * len(rows), 8):
            draw.line([x, y, x, y + 4], fill='red', width=1)
    draw.text((10, top + row_h * len(rows) + 15), 'dark: p50, middle: p95, light: p99; grey: pretix\'s own pages; '
              'red dashes: p99 of pretix\'s redeem page', fill='black', font=font)
    img.save(out)


def shown_args(argv):
    """The command line for the report, without the note (the report gives it as a sentence of its own)."""
    out, skip = [], False
    for a in argv:
        if skip or a == '--note':
            skip = not skip and a == '--note'
            continue
        out.append(a)
    return [a for a in out if not a.startswith('--note=')]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--grants', type=int, default=1000, help='N, the grants decided on decision day')
    parser.add_argument('--applications', type=int, default=2000, help='M, the applicants of the opening')
    parser.add_argument('--flood-clients', type=int, default=5, help='clients sending more than the rate limit allows')
    parser.add_argument('--over-limit', type=int, default=3, help='applications each of them sends beyond the limit')
    parser.add_argument('--users', type=int, default=100, help='simulated visitors at a time')
    parser.add_argument('--spawn-rate', type=float, default=50, help='new visitors a second while ramping up')
    parser.add_argument('--run-time', default='30m', help='the longest locust may run for each scenario')
    parser.add_argument('--think-min', type=float, default=0.5, help='seconds a visitor waits between clicks, at least')
    parser.add_argument('--think-max', type=float, default=2.0, help='... and at most')
    parser.add_argument('--grantee-weight', type=int, default=3)
    parser.add_argument('--shopper-weight', type=int, default=1)
    parser.add_argument('--warm-up', type=int, default=4, help='requests of each page per web worker beforehand')
    parser.add_argument('--web-workers', type=int, default=gunicorn_workers())
    parser.add_argument('--concurrency', type=int, default=2, help='Celery worker processes')
    parser.add_argument('--only', default='decision,application')
    parser.add_argument('--no-bulk', action='store_true', help='skip the bulk issue measured for comparison')
    parser.add_argument('--database', default='', help='the database to create and drop (default: bench/pretix.cfg)')
    parser.add_argument('--profile', default='', help='a folder: py-spy on the gunicorn workers on decision day')
    parser.add_argument('--note', default='', help='a sentence for the report, e.g. that the machine was shared')
    parser.add_argument('--out', default=str(ROOT / 'bench' / 'results.md'))
    parser.add_argument('--chart', default=str(ROOT / 'bench' / 'burst-latency.png'))
    parser.add_argument('--json', default='', help='also write the measured numbers and counts here')
    args = parser.parse_args()
    only = set(args.only.split(','))

    os.environ['PRETIX_CONFIG_FILE'] = str(ROOT / 'bench' / 'pretix.cfg')
    if args.database:
        os.environ['PRETIX_DATABASE_NAME'] = args.database
    sink, name = prepare()

    from django.core.management import call_command
    from django.db import connections
    from django_scopes import scopes_disabled

    workdir = Path(tempfile.mkdtemp(prefix='bench-burst-'))
    log = open(workdir / 'server-and-workers.log', 'w')
    workers = server = None
    d = a = None
    try:
        say('creating the tables ...')
        call_command('migrate', run_syncdb=True, verbosity=0)
        say('starting the Celery workers and gunicorn ...')
        env = dict(os.environ, PRETIX_DATABASE_NAME=name, PYTHONPATH=str(ROOT))
        workers = start_workers(env, log, args.concurrency)
        server, port = start_server(env, log, workers=args.web_workers)
        say('ready')
        with scopes_disabled():
            if 'decision' in only:
                d = decision_day(args, port, sink, workdir, args.web_workers,
                                 profile=(server, args.profile) if args.profile else None)
            if 'application' in only:
                a = application_opening(args, port, sink, workdir, args.web_workers)
    finally:
        stop(server)
        stop(workers)
        sink.stop()
        connections.close_all()
        database(name, 'drop')
        release_lock()
    stamp = datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    header = (f'{stamp}, {os.cpu_count()} cores; pretix under gunicorn ({args.web_workers} sync workers), '
              f'PostgreSQL, Redis, {args.concurrency} Celery worker processes, SMTP sink, locust '
              f'({args.users} users spawned at {args.spawn_rate:g}/s, {args.think_min:g}-{args.think_max:g} s between '
              f'clicks), all on loopback; `bench/burst.py {" ".join(shown_args(sys.argv[1:]))}`.'
              + (f' {args.note}' if args.note else ''))
    text = report(d, a, args, header)
    print(text)
    if args.out:
        write_results(Path(args.out), text, section=SECTION)
    if args.chart:
        chart(d, a, args.chart)
    if args.json:
        Path(args.json).write_text(json.dumps({'decision': d, 'application': a,
                                               'checks': checks(d, a)}, default=str, indent=1))
    print(f'written to {args.out} and {args.chart}; logs in {workdir}')
    if not all(ok for _, ok in checks(d, a)):
        sys.exit(1)


if __name__ == '__main__':
    main()
