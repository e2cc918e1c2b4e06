"""
`make bench`: every scenario of bench/scenarios.py in one run on PostgreSQL, with Redis (databases 10-12), real
Celery workers and a loopback SMTP sink; prints one table and writes it to bench/results.md.

The database named in bench/pretix.cfg (or PRETIX_DATABASE_NAME) is created at the start and dropped at the end.
"""
import argparse
import asyncio
import http.client
import json
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUEUES = 'default,checkout,mail,background,notifications'
REDIS_DBS = (10, 11, 12)


LOCK = 'pretix-grants-bench:lock'
BUSY = 3  # exit status when another benchmark holds the bench's Redis databases


def take_lock():
    """
    Refuse to run (exit status ``BUSY``) while another benchmark of this project runs, then empty the bench's Redis
    databases and hold them: make bench, make bench-burst and the burst smoke test share them.
    """
    import redis

    lock = redis.Redis(host='127.0.0.1', port=6379, db=REDIS_DBS[0])
    holder = int(lock.get(LOCK) or 0)
    if holder and Path(f'/proc/{holder}').exists():
        print(f'another benchmark (process {holder}) is running; its lock is in Redis database {REDIS_DBS[0]}',
              file=sys.stderr)
        sys.exit(BUSY)
    for db in REDIS_DBS:
        redis.Redis(host='127.0.0.1', port=6379, db=db).flushdb()
    lock.set(LOCK, os.getpid(), ex=24 * 3600)


def release_lock():
    import redis

    redis.Redis(host='127.0.0.1', port=6379, db=REDIS_DBS[0]).delete(LOCK)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


SINK_KEY = 'pretix-grants-bench:sink'
SINK_LAST = 'pretix-grants-bench:sink-last'


class SinkHandler:
    def __init__(self):
        import redis

        self.redis = redis.Redis(host='127.0.0.1', port=6379, db=REDIS_DBS[0])

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            domain = rcpt.rsplit('@', 1)[-1]
            self.redis.hincrby(SINK_KEY, domain, 1)
            self.redis.hset(SINK_LAST, domain, repr(time.time()))
        return '250 Message accepted for delivery'


def serve_smtp(port):
    from aiosmtpd.controller import Controller

    logging.getLogger('mail.log').setLevel(logging.WARNING)  # aiosmtpd logs every command
    Controller(SinkHandler(), hostname='127.0.0.1', port=port, loop=asyncio.new_event_loop()).start()
    signal.pause()


class Sink:
    """
    An SMTP server on loopback that accepts every mail and counts them per event (by the recipient's domain) in
    Redis. It runs in a process of its own, so receiving mail takes no time from the process being measured.
    """

    def __init__(self):
        import multiprocessing

        import redis

        self.port = free_port()
        self.redis = redis.Redis(host='127.0.0.1', port=6379, db=REDIS_DBS[0])
        self.redis.delete(SINK_KEY, SINK_LAST)
        self.proc = multiprocessing.get_context('spawn').Process(target=serve_smtp, args=(self.port,), daemon=True)

    def start(self):
        self.proc.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return
            except OSError:
                if not self.proc.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError('the SMTP sink did not start')
                time.sleep(0.1)

    def cpu(self):
        """CPU seconds the sink has used so far."""
        with open(f'/proc/{self.proc.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self):
        self.proc.terminate()
        self.proc.join(10)

    def count(self, event):
        return int(self.redis.hget(SINK_KEY, f'{event.slug}.example.org') or 0)

    def last_arrival(self, event):
        """When the last mail to ``event``'s grantees arrived (a ``time.time()`` value), or None."""
        value = self.redis.hget(SINK_LAST, f'{event.slug}.example.org')
        return float(value) if value else None


def prepare():
    """
    What every benchmark does first: the bench's settings, its lock on the bench's Redis databases, the SMTP sink
    (in a process of its own), Django, and the bench database created afresh, refusing any database whose name
    does not start with ``pretix_grants_bench``. Returns ``(sink, database name)``.
    """
    os.environ['DJANGO_SETTINGS_MODULE'] = 'bench.settings'
    take_lock()
    sink = Sink()
    sink.start()
    os.environ['BENCH_SMTP_PORT'] = str(sink.port)

    import django
    django.setup()
    from django.conf import settings

    name = settings.DATABASES['default']['NAME']
    if not name.startswith('pretix_grants_bench'):
        raise SystemExit(f'refusing to create and drop the database {name!r}: not a pretix_grants_bench* name')
    database(name, 'create')
    return sink, name


def use_postgresql(name):
    """pretix's settings from here on: the PostgreSQL server at 127.0.0.1:5432, database ``name`` (a pretix.cfg of its own)."""
    cfg = tempfile.NamedTemporaryFile('w', prefix='bench-', suffix='.cfg', delete=False)
    cfg.write(f'[database]\nbackend=postgresql\nname={name}\nuser=postgres\nhost=127.0.0.1\nport=5432\n')
    cfg.close()
    os.environ['PRETIX_CONFIG_FILE'] = cfg.name


def database(name, action):
    import psycopg2

    conn = psycopg2.connect(dbname='postgres', user='postgres', host='127.0.0.1', port=5432)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if action == 'create':
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def start_workers(env, log, concurrency):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'pretix.celery_app', 'worker', '-Q', QUEUES,
         '--concurrency', str(concurrency), '--prefetch-multiplier', '1', '-O', 'fair',  # as doc/operations.md
         '--pool', 'prefork', '--loglevel', 'WARNING', '--without-heartbeat', '--without-mingle', '--without-gossip'],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    from pretix.celery_app import app
    deadline = time.monotonic() + 90
    while not (proc.poll() is None and app.control.ping(timeout=0.5)):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f'the Celery workers did not start; see {log.name}')
    return proc


def stop(proc):
    """Stop a process started in a session of its own (the workers, gunicorn) and all its children."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def request(port, method, path, body=None, headers=None, conn=None):
    """
    One HTTP request with the standard library, as a separate app would make it (pretix's own process guards
    ``requests`` against private addresses, loopback included); returns (status, content type, text).
    """
    conn = conn or http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    conn.request(method, path, body=body, headers=dict(headers or {}, Host=HOST))
    r = conn.getresponse()
    return r.status, r.getheader('Content-Type') or '', r.read().decode()


def start_server(env, log, workers=2, command=()):
    """
    pretix under gunicorn on a loopback port, as a separate grants app would talk to it; returns (proc, port).
    ``command`` goes in front of the server's command line (e.g. a profiler).
    """
    port = free_port()
    proc = subprocess.Popen(
        [*command, sys.executable, '-m', 'gunicorn', 'pretix.wsgi:application', '--bind', f'127.0.0.1:{port}',
         '--workers', str(workers), '--timeout', '120'],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            if request(port, 'GET', '/healthcheck/')[0] == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f'gunicorn did not start; see {log.name}')
        time.sleep(0.5)


def http_post(port):
    """``post(path, data, token)`` for scenarios.rest_api: JSON over one kept-alive HTTP connection."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)

    def post(path, data, token):
        status, ctype, text = request(port, 'POST', path, json.dumps(data), conn=conn, headers={
            'Authorization': f'Token {token}', 'Content-Type': 'application/json'})
        return status, (json.loads(text) if ctype.startswith('application/json') else text[:300])
    return post


# SITE_URL's host in pretix's test settings, which bench/settings.py builds on
HOST = 'example.com'


def fmt(v, spec):
    return '' if v is None else format(v, spec)


def table(rows):
    lines = ['| Scenario | N | Time | Rate | Queries | CPU | Notes |', '|---|---:|---:|---:|---:|---:|---|']
    for r in rows:
        seconds = r['seconds']
        if seconds is None:
            shown = ''
        elif seconds < 1:
            shown = f'{seconds * 1000:.1f} ms'
        else:
            shown = f'{seconds:.2f} s'
        rate = f"{r['rate']:,.0f} {r['per']}/s" if r['rate'] else ''
        cpu = f"{r['cpu']:.1f} s" if r.get('cpu') else ''
        lines.append(f"| {r['scenario']} | {fmt(r['n'], ',')} | {shown} | {rate} | {fmt(r['queries'], 'd')} "
                     f"| {cpu} | {r['note']} |")
    return '\n'.join(lines)


FLOOR = '(f) floor: bare mail() calls, all delivered'
PLUGIN = '(a) plugin bulk issue: all mails delivered'
PLUGIN_ISSUED = '(a) plugin bulk issue: vouchers committed and logged'
PRETIX = '(c) pretix bulk vouchers + vouchers_send: all mails delivered'
REST = '(b) per-grant REST API: all mails delivered'
REST_CREATED = '(b) per-grant REST API: vouchers created'


def ratios(rows):
    """The comparisons the targets are about, from rows of one round: {(scenario, text): value}."""
    by = {r['scenario']: r for r in rows}
    out = {}
    plugin = by.get(PLUGIN)
    if plugin and by.get(FLOOR):
        out[(PLUGIN, 'x the floor (f)')] = plugin['seconds'] / by[FLOOR]['seconds']
    for key in (PRETIX, REST):
        if plugin and by.get(key) and by[key]['seconds']:
            out[(key, 'x the time of (a)')] = by[key]['seconds'] / plugin['seconds']
    if by.get(REST_CREATED) and by.get(PLUGIN_ISSUED) and by[REST_CREATED]['rate']:
        out[(PLUGIN_ISSUED, 'x the vouchers/s of (b)')] = by[PLUGIN_ISSUED]['rate'] / by[REST_CREATED]['rate']
    return out


def merge(rounds):
    """
    Rows of several rounds of the same scenarios: the median time, rate and CPU of each, the range in the notes,
    and each comparison as the median of the rounds' own ratios (so each ratio still compares one round).
    """
    if len(rounds) == 1:
        rows = rounds[0]
        for (scenario, text), value in ratios(rows).items():
            row = next(r for r in rows if r['scenario'] == scenario)
            row['note'] = '; '.join(filter(None, [row['note'], f'{value:.2f}{text}']))
        return rows
    merged = []
    for first in rounds[0]:
        same = [r for rows in rounds for r in rows if r['scenario'] == first['scenario']]
        seconds = [r['seconds'] for r in same]
        row = dict(first, seconds=statistics.median(seconds),
                   cpu=statistics.median(r['cpu'] for r in same) if first.get('cpu') else None)
        row['rate'] = row['n'] / row['seconds'] if first['rate'] else None
        spread = f'median of {len(same)} rounds, {min(seconds):.2f}-{max(seconds):.2f} s' if len(same) > 1 else ''
        row['note'] = '; '.join(filter(None, [first['note'], spread]))
        merged.append(row)
    per_round = [ratios(rows) for rows in rounds]
    for key in per_round[0]:
        values = [r[key] for r in per_round if key in r]
        row = next(r for r in merged if r['scenario'] == key[0])
        each = f' (rounds: {", ".join(f"{v:.2f}" for v in values)})' if len(values) > 1 else ''
        row['note'] = '; '.join(filter(None, [row['note'], f'{statistics.median(values):.2f}{key[1]}{each}']))
    return merged


def write_results(path, text, section=None):
    """
    Write ``text`` to results.md: without ``section`` as its first part (the tables of this script), else as the
    part that starts with the heading ``section``, where that part was (else at the end); every other part of the
    file stays as it was.
    """
    old = path.read_text() if path.exists() else ''
    parts = re.split(r'(?m)^(?=## )', old)
    head, rest = parts[0], parts[1:]
    if not section:
        head = text
    elif any(p.startswith(section) for p in rest):  # in its place
        rest = [text if p.startswith(section) else p for p in rest]
    else:
        rest.append(text)
    path.write_text('\n\n'.join(p.strip('\n') for p in [head, *rest] if p.strip()) + '\n')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--sizes', default='1000,10000')
    parser.add_argument('--foreign', type=int, default=100_000, help='other vouchers for the confirmation case')
    parser.add_argument('--pretix-max', type=int, default=1000,
                        help='largest N for (c): its log data grows with N squared')
    parser.add_argument('--rest-max', type=int, default=1000,
                        help='largest N for (b): one HTTP request per voucher, about 10-30 a second')
    parser.add_argument('--repeat', type=int, default=3,
                        help='rounds of (f), (a) and (c), each first in turn; the table gives medians')
    parser.add_argument('--repeat-max', type=int, default=1000, help='largest N that is repeated')
    parser.add_argument('--issue-only', default='',
                        help='sizes at which only the voucher phase of (a) is measured, e.g. 10000')
    parser.add_argument('--list-grants', type=int, default=10_000)
    parser.add_argument('--concurrency', type=int, default=2, help='Celery worker processes')
    parser.add_argument('--only', default='',
                        help='comma-separated subset of: confirm, floor, plugin, pretix, rest, lists (default all)')
    parser.add_argument('--out', default=str(ROOT / 'bench' / 'results.md'))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',') if s]
    issue_only = [int(s) for s in args.issue_only.split(',') if s]
    only = set(filter(None, args.only.split(','))) or {'confirm', 'floor', 'plugin', 'pretix', 'rest', 'lists'}

    sys.path.insert(0, str(ROOT))
    smtp, name = prepare()
    handler = smtp

    import redis
    from django.core.management import call_command
    from django.db import connections
    from django_scopes import scopes_disabled

    from bench import scenarios

    workers = server = None
    log = tempfile.NamedTemporaryFile('w', prefix='bench-workers-', suffix='.log', delete=False)
    rows = []
    try:
        call_command('migrate', run_syncdb=True, verbosity=0)
        with scopes_disabled():
            if 'confirm' in only:
                print('one confirmation ...', flush=True)
                rows += scenarios.confirmation(foreign=args.foreign)
            # what the confirmations queued (their mails) is not part of anything measured below
            redis.Redis(host='127.0.0.1', port=6379, db=REDIS_DBS[1]).flushdb()
            env = dict(os.environ, PRETIX_DATABASE_NAME=name, PYTHONPATH=str(ROOT))
            workers = start_workers(env, log, args.concurrency)
            if 'rest' in only:
                server, port = start_server(env, log)
            for n in sizes:
                runs = {'floor': scenarios.mail_floor, 'plugin': scenarios.plugin_bulk}
                skipped = []
                if n <= args.pretix_max:
                    runs['pretix'] = scenarios.pretix_bulk
                elif 'pretix' in only:
                    skipped.append(scenarios.row(PRETIX, n, note=(
                        f'not run above --pretix-max {args.pretix_max}: every voucher\'s log entry holds the whole '
                        'recipient list (N squared data)')))
                names = [name for name in runs if name in only]
                rounds = []
                for k in range(args.repeat if n <= args.repeat_max else 1):
                    round_rows = []
                    for name in names[k % len(names):] + names[:k % len(names)]:  # each goes first in turn
                        print(f'N = {n}, round {k + 1}: {name} ...', flush=True)
                        round_rows += runs[name](n, handler)
                    rounds.append(round_rows)
                if 'rest' not in only:
                    pass
                elif n <= args.rest_max:
                    print(f'N = {n}: per-grant REST API ...', flush=True)
                    rounds[0] += scenarios.rest_api(n, http_post(port), handler)
                else:
                    skipped.append(scenarios.row(REST_CREATED, n, note=(
                        f'not run above --rest-max {args.rest_max}: one request per voucher')))
                if rounds and rounds[0]:
                    rows += merge(rounds)
                rows += skipped
            if 'lists' in only:
                print('list pages ...', flush=True)
                rows += scenarios.list_pages(args.list_grants)
            # last, as nothing after it waits for the mails it leaves to the workers
            for n in issue_only:
                print(f'N = {n}: plugin, vouchers only ...', flush=True)
                rows += scenarios.plugin_bulk(n, handler, deliver=False)
    finally:
        stop(server)
        stop(workers)
        sink_cpu = smtp.cpu()
        smtp.stop()
        connections.close_all()
        database(name, 'drop')
        release_lock()
    out = table(rows)
    stamp = datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    header = (f'# pretix-grants benchmarks\n\n{stamp}, {os.cpu_count()} cores, PostgreSQL, Redis, '
              f'{args.concurrency} Celery worker processes, SMTP sink on loopback (it used {sink_cpu:.1f} CPU s in '
              f'all); `bench/run.py {" ".join(sys.argv[1:])}`.\n\n')
    write_results(Path(args.out), header + out + '\n')
    print(out)
    print(f'\nwritten to {args.out}; worker log {log.name}')


if __name__ == '__main__':
    main()
