"""
`python bench/decisions.py`: the decision day's proposal (decisions/) for 1,000 and 10,000 applications with five
reviews each: the server time and the queries of computing the proposal and of the whole Decide page, median of 3.
Target: under 2 s for 10,000, and a query count that does not grow with N.

Runs on PostgreSQL in its own database (``grants_i27_bench`` unless ``--database`` says otherwise; created and
dropped here), with pretix's test settings (tables straight from the models, tasks inline). Writes its section of
bench/results.md and leaves the other sections as they are.
"""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECTION = '## Decisions: the allocation proposal'


def setup(dbname):
    from bench.run import database, use_postgresql
    use_postgresql(dbname)
    os.environ['DJANGO_SETTINGS_MODULE'] = 'pretix.testutils.settings'
    database(dbname, 'create')
    import django
    django.setup()
    from django.conf import settings
    settings.DATABASES['default']['NAME'] = dbname
    settings.ALLOWED_HOSTS = ['*']
    from django.core.management import call_command
    call_command('migrate', run_syncdb=True, verbosity=0)


def world(n, reviewers=5, seed=1):
    from django.utils.timezone import now
    from django_scopes import scopes_disabled
    from pretix.base.models import Event, Organizer, User

    from pretix_grants.models import Grant, Review
    rnd = random.Random(seed)
    with scopes_disabled():
        org = Organizer.objects.create(name=f'Bench {n}', slug=f'bench{n}')
        event = Event.objects.create(organizer=org, name='Bench', slug='decide', currency='EUR', plugins='pretix_grants',
                                     date_from=now() + timedelta(days=60), live=True)
        event.settings.grants_budget = Decimal(n) * Decimal('150.00')
        event.settings.grants_cap_travel = Decimal('600.00')
        users = [User.objects.create_user(f'reviewer{i}-{n}@example.org', 'x') for i in range(reviewers)]
        manager = User.objects.create_user(f'manager-{n}@example.org', 'x')
        team = org.teams.create(name='All', all_events=True, all_event_permissions=True)
        team.members.add(manager, *users)
        Grant.objects.bulk_create([Grant(
            event=event, name=f'Applicant {i}', email=f'a{i}-{n}@example.org',
            requested_travel=Decimal(rnd.randrange(0, 90000)) / 100,
            requested_accommodation=Decimal(rnd.randrange(0, 50000)) / 100,
        ) for i in range(n)], batch_size=2000)
        ids = list(Grant.objects.filter(event=event).values_list('pk', flat=True))
        # each application has a merit, each reviewer a habit (lenient or harsh) and some noise
        habits = [rnd.uniform(-1, 1) for _ in users]
        merit = {g: rnd.gauss(3, 1) for g in ids}
        Review.objects.bulk_create([
            Review(grant_id=g, user=u, score=min(5, max(1, round(merit[g] + habits[k] + rnd.gauss(0, 0.6)))))
            for g in ids for k, u in enumerate(users)
        ], batch_size=5000)
    return event, manager


def measure(fn, rounds=3):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    times, queries = [], None
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries


def run(sizes):
    from django.test import Client
    from django_scopes import scope

    from pretix_grants.decisions import programme
    rows = []
    for n in sizes:
        event, manager = world(n)
        options = programme.Options(basis='calibrated')

        def propose():
            with scope(organizer=event.organizer):
                return programme.propose(event, options)

        p = propose()
        t, q = measure(propose)
        rows.append((f'Proposal computed (by rank, calibrated; {len(p.funded):,} offers, {len(p.band):,} tied)', n, t, q))
        client = Client()
        client.force_login(manager)
        url = f'/control/event/{event.organizer.slug}/{event.slug}/grants/decide/?strategy=rank&basis=calibrated'

        def page():
            r = client.get(url)
            assert r.status_code == 200, r.status_code
        page()
        t, q = measure(page)
        rows.append(('Decide page with chart and table, whole request', n, t, q))
        # the same programme with equal scores as shown as the tie rule
        event.settings.grants_tie_rule = 'equal'
        p = propose()
        t, q = measure(propose)
        rows.append((f'Proposal computed, tie rule "equal scores as shown" ({len(p.funded):,} offers, '
                     f'{len(p.band):,} tied)', n, t, q))
        event.settings.grants_tie_rule = 'overlap'
    return rows


def fmt_time(s):
    return f'{s * 1000:.0f} ms' if s < 1 else f'{s:.2f} s'


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--sizes', default='1000,10000')
    parser.add_argument('--database', default='grants_i27_bench')
    parser.add_argument('--out', default=str(ROOT / 'bench' / 'results.md'))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    setup(args.database)
    from bench.run import database, write_results
    try:
        rows = run(sizes)
    finally:
        from django.db import connections
        connections.close_all()
        database(args.database, 'drop')
    stamp = datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    lines = [SECTION, '', f'{stamp}, {os.cpu_count()} cores, PostgreSQL, pretix\'s test settings (tasks inline); '
             f'`bench/decisions.py --sizes {args.sizes}`. Five reviews per application by five reviewers with their '
             'own leniency and noise; server time, median of 3. Target: under 2 s at 10,000 and queries that do not grow with N.',
             '', '| Scenario | N | Time | Queries |', '|---|---:|---:|---:|']
    lines += [f'| {name} | {n:,} | {fmt_time(t)} | {q} |' for name, n, t, q in rows]
    text = '\n'.join(lines) + '\n'
    print(text)
    write_results(Path(args.out), text, section=SECTION)


if __name__ == '__main__':
    main()
