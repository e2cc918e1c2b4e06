"""
The speaker sync against a real pretalx: N speakers (one talk each, accepted or confirmed) made through pretalx's
own code and served by its runserver on loopback; pretix on PostgreSQL (its own database, created and dropped), Redis,
Celery workers for the mails and an SMTP sink, as bench/run.py. Times the first sync (N vouchers and mails), a second
one with nothing changed, and one after ten talks were withdrawn; writes its section of bench/results.md.

Each sync starts when the workers have sent the mails of the one before, as a cron run 15 minutes later finds them.
After each sync, pretalx's talks are read once on their own, so the table shows what of a sync is pretalx's.

    python bench/speakers.py [--speakers 1000]
"""
import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import (  # NOQA: E402
    ROOT, database, prepare, release_lock, start_workers, stop, write_results,
)

SECTION = '## Speakers from pretalx'
TARGETS = {'first': 60.0, 'unchanged': 5.0}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--speakers', type=int, default=1000)
    parser.add_argument('--out', default=str(ROOT / 'bench' / 'results.md'))
    args = parser.parse_args()
    os.environ['PRETIX_CONFIG_FILE'] = str(ROOT / 'bench' / 'pretix.cfg')
    sink, name = prepare()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.utils.timezone import now
    from django_scopes import scope, scopes_disabled
    from pretix.base.models import Event, Organizer, Voucher

    from bench.scenarios import wait_delivered
    from pretix_grants.models import Speaker
    from pretix_grants.speakers import rules
    from tests.speakers.pretalx_server import PretalxServer

    settings.ALLOW_HTTP_TO_PRIVATE_NETWORKS = True  # pretalx is on loopback
    workdir = Path(tempfile.mkdtemp(prefix='bench-speakers-'))
    log = open(workdir / 'workers.log', 'w')
    workers = pretalx = None
    rows = []
    try:
        call_command('migrate', run_syncdb=True, verbosity=0)
        workers = start_workers(dict(os.environ, PRETIX_DATABASE_NAME=name, PYTHONPATH=str(ROOT)), log, 2)
        t = time.monotonic()
        pretalx = PretalxServer(speakers=args.speakers)
        pretalx.start()
        made = time.monotonic() - t
        with scopes_disabled():
            organizer = Organizer.objects.create(name='Bench', slug='bench')
            event = Event.objects.create(organizer=organizer, name='Bench', slug='bench', currency='EUR',
                                         date_from=now() + timedelta(days=60), plugins='pretix_grants', live=True)
            item = event.items.create(name='Ticket', default_price=Decimal('200.00'), admission=True)
            s = event.settings
            s.grants_voucher_item = item.pk
            s.grants_pretalx_url, s.grants_pretalx_event, s.grants_pretalx_token = pretalx.url, pretalx.event, pretalx.token
        with scope(organizer=organizer):
            for label, change in (('first', None), ('unchanged', None), ('ten withdrawn', 10)):
                if change:
                    for code in pretalx.data['talks'][:change]:
                        pretalx.run('state', code, 'withdrawn')
                t = time.monotonic()
                ok, counts = rules.sync(event)
                took = time.monotonic() - t
                assert ok, counts
                sent = wait_delivered(event, Voucher.objects.filter(event=event).count())
                # pretalx's part alone, after the sync (before it, the read would warm pretalx for the sync)
                t = time.monotonic()
                rules.Pretalx.for_event(event).talks(['accepted', 'confirmed'])
                read = time.monotonic() - t
                rows.append((label, took, read, sent, counts))
                print(label, f'{took:.1f} s (pretalx read alone {read:.1f} s), mails sent {sent:.1f} s after',
                      counts, flush=True)
            vouchers = Voucher.objects.filter(event=event).count()
            speakers = Speaker.objects.filter(event=event).count()
    finally:
        if pretalx is not None:
            pretalx.close()
        stop(workers)
        sink.stop()
        connections.close_all()
        database(name, 'drop')
        release_lock()
    stamp = datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    lines = [
        SECTION, '',
        f'{stamp}, {os.cpu_count()} cores; pretalx {pretalx_version()} (its runserver, SQLite) and pretix '
        f'(in-process sync, PostgreSQL, Redis, 2 Celery worker processes for the mails, SMTP sink) on loopback; '
        f'`bench/speakers.py --speakers {args.speakers}`. pretalx data made through its own code in {made:.0f} s.',
        '',
        '| sync | seconds | target | pretalx read alone | mails sent, s after | issued | upgraded | released '
        '| unchanged |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for label, took, read, sent, c in rows:
        target = TARGETS.get(label)
        lines.append(f'| {label} | {took:.1f} | {f"< {target:g}" if target else ""} | {read:.1f} | {sent:.1f} '
                     f'| {c["issued"]} | {c["upgraded"]} | {c["released"]} | {c["unchanged"]} |')
    lines += ['', f'{speakers} speakers, {vouchers} vouchers after the three syncs.']
    text = '\n'.join(lines) + '\n'
    print(text)
    write_results(Path(args.out), text, section=SECTION)
    missed = [label for label, took, *_rest in rows if label in TARGETS and took >= TARGETS[label]]
    if missed:
        print('missed the target:', ', '.join(missed))
        sys.exit(1)


def pretalx_version():
    from tests.speakers.pretalx_server import VENV
    found = sorted(VENV.glob('lib/python*/site-packages/pretalx-*.dist-info'))
    return found[0].name.removesuffix('.dist-info').split('-')[1] if found else '?'


if __name__ == '__main__':
    main()
