"""
`make bench`: every scenario of bench/scenarios.py in one run on PostgreSQL, with Redis (databases 10-12), real
Celery workers and a loopback SMTP sink; prints one table and writes it to bench/results.md.

The database named in bench/pretix.cfg (or PRETIX_DATABASE_NAME) is created at the start and dropped at the end.
"""
import argparse
import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUEUES = 'default,checkout,mail,background,notifications'
REDIS_DBS = (10, 11, 12)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Sink:
    """An SMTP server on loopback that accepts every mail and counts them per event (by the recipient's domain)."""

    def __init__(self):
        self.counts = {}

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            domain = rcpt.rsplit('@', 1)[-1]
            self.counts[domain] = self.counts.get(domain, 0) + 1
        return '250 Message accepted for delivery'

    def count(self, event):
        return self.counts.get(f'{event.slug}.example.org', 0)


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
         '--concurrency', str(concurrency), '--pool', 'prefork', '--loglevel', 'WARNING', '--without-heartbeat',
         '--without-mingle', '--without-gossip'],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    from pretix.celery_app import app
    deadline = time.monotonic() + 90
    while not (proc.poll() is None and app.control.ping(timeout=0.5)):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f'the Celery workers did not start; see {log.name}')
    return proc


def stop_workers(proc):
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def fmt(v, spec):
    return '' if v is None else format(v, spec)


def table(rows):
    lines = ['| Scenario | N | Time | Rate | Queries | Notes |', '|---|---:|---:|---:|---:|---|']
    for r in rows:
        seconds = r['seconds']
        if seconds is None:
            shown = ''
        elif seconds < 1:
            shown = f'{seconds * 1000:.1f} ms'
        else:
            shown = f'{seconds:.2f} s'
        rate = f"{r['rate']:,.0f} {r['per']}/s" if r['rate'] else ''
        lines.append(f"| {r['scenario']} | {fmt(r['n'], ',')} | {shown} | {rate} | {fmt(r['queries'], 'd')} "
                     f"| {r['note']} |")
    return '\n'.join(lines)


def ratios(rows, sizes):
    """Add the comparisons the targets are about, from rows of this same run."""
    by = {(r['scenario'], r['n']): r for r in rows}
    for n in sizes:
        floor = by.get(('(f) floor: bare mail() calls, all delivered', n))
        plugin = by.get(('(a) plugin bulk issue: all mails delivered', n))
        pretix = by.get(('(c) pretix bulk vouchers + vouchers_send: all mails delivered', n))
        if plugin and floor:
            plugin['note'] = f"{plugin['seconds'] / floor['seconds']:.2f}x the floor (f)"
        if plugin and pretix:
            pretix['note'] = f"{pretix['seconds'] / plugin['seconds']:.2f}x the time of (a)"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--sizes', default='1000,10000')
    parser.add_argument('--foreign', type=int, default=100_000, help='other vouchers for the confirmation case')
    parser.add_argument('--pretix-max', type=int, default=1000,
                        help='largest N for (c): its log data grows with N squared')
    parser.add_argument('--issue-only', default='',
                        help='sizes at which only the voucher phase of (a) is measured, e.g. 10000')
    parser.add_argument('--list-grants', type=int, default=10_000)
    parser.add_argument('--concurrency', type=int, default=2, help='Celery worker processes')
    parser.add_argument('--out', default=str(ROOT / 'bench' / 'results.md'))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',') if s]
    issue_only = [int(s) for s in args.issue_only.split(',') if s]

    os.environ['DJANGO_SETTINGS_MODULE'] = 'bench.settings'
    sys.path.insert(0, str(ROOT))
    from aiosmtpd.controller import Controller

    logging.getLogger('mail.log').setLevel(logging.WARNING)  # aiosmtpd logs every command
    handler = Sink()
    smtp = Controller(handler, hostname='127.0.0.1', port=free_port(), loop=asyncio.new_event_loop())
    smtp.start()
    os.environ['BENCH_SMTP_PORT'] = str(smtp.port)

    import django
    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django_scopes import scopes_disabled

    from bench import scenarios

    name = settings.DATABASES['default']['NAME']
    if not name.startswith('pretix_grants_bench'):
        raise SystemExit(f'refusing to create and drop the database {name!r}: not a pretix_grants_bench* name')
    for db in REDIS_DBS:
        redis.Redis(host='127.0.0.1', port=6379, db=db).flushdb()
    database(name, 'create')
    workers = None
    log = tempfile.NamedTemporaryFile('w', prefix='bench-workers-', suffix='.log', delete=False)
    rows = []
    try:
        call_command('migrate', run_syncdb=True, verbosity=0)
        with scopes_disabled():
            print('one confirmation ...', flush=True)
            rows += scenarios.confirmation(foreign=args.foreign)
            # what the confirmations queued (their mails) is not part of anything measured below
            redis.Redis(host='127.0.0.1', port=6379, db=REDIS_DBS[1]).flushdb()
            env = dict(os.environ, PRETIX_DATABASE_NAME=name, PYTHONPATH=str(ROOT))
            workers = start_workers(env, log, args.concurrency)
            for n in sizes:
                print(f'N = {n}: floor ...', flush=True)
                rows += scenarios.mail_floor(n, handler)
                print(f'N = {n}: plugin ...', flush=True)
                rows += scenarios.plugin_bulk(n, handler)
                if n <= args.pretix_max:
                    print(f'N = {n}: pretix ...', flush=True)
                    rows += scenarios.pretix_bulk(n, handler)
                else:
                    rows.append(scenarios.row('(c) pretix bulk vouchers + vouchers_send', n, note=(
                        'not run: every voucher\'s log entry holds the whole recipient list (N squared data)')))
            rows.append(scenarios.row('(b) per-grant REST API under gunicorn, then one mail each', note=(
                'not run in this version of the bench (the issue measured ~30 vouchers/s, ~12/s with 100,000 '
                'vouchers, before mail)')))
            print('list pages ...', flush=True)
            rows += scenarios.list_pages(args.list_grants)
            # last, as nothing after it waits for the mails it leaves to the workers
            for n in issue_only:
                print(f'N = {n}: plugin, vouchers only ...', flush=True)
                rows += scenarios.plugin_bulk(n, handler, deliver=False)
    finally:
        stop_workers(workers)
        smtp.stop()
        connections.close_all()
        database(name, 'drop')
    ratios(rows, sizes)
    out = table(rows)
    stamp = datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    header = (f'# pretix-grants benchmarks\n\n{stamp}, {os.cpu_count()} cores, PostgreSQL, Redis, '
              f'{args.concurrency} Celery worker processes, SMTP sink on loopback; '
              f'`bench/run.py {" ".join(sys.argv[1:])}`.\n\n')
    Path(args.out).write_text(header + out + '\n')
    print(out)
    print(f'\nwritten to {args.out}; worker log {log.name}')


if __name__ == '__main__':
    main()
