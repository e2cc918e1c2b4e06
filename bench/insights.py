"""
`python -m bench.insights`: Grants → Statistics and the post-event report (PDF, CSV) at N grants (10,000 by
default) with reviews, claims, decision rounds, pretix orders and check-ins; server time of each request through
Django's test client (median of 3 after one warm-up), and the queries it made. Writes its own section of
bench/results.md.

Runs on SQLite (an in-memory database with pretix's test settings, tables straight from the models): no Redis,
PostgreSQL or Celery needed. With ``--postgresql`` it runs on the PostgreSQL server at 127.0.0.1:5432 instead, in a
database of its own (``test_grants_insights_bench``, created and dropped), and writes a section of its own. The rows
are made in bulk; what is measured is only reading them.
"""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = '## Insights: statistics page and post-event report'
SECTION_PG = '## Insights on PostgreSQL: statistics page and post-event report'
PG_DATABASE = 'grants_insights_bench'


def build(n):
    from django.contrib.contenttypes.models import ContentType
    from django.utils.timezone import now
    from django_scopes import scopes_disabled
    from pretix.base.models import (
        Checkin, Event, LogEntry, Order, OrderPosition, Organizer, User,
    )

    from pretix_grants.models import Claim, ClaimItem, Grant, Review

    rnd = random.Random(30)
    with scopes_disabled():
        org = Organizer.objects.create(name='Bench', slug='bench')
        event = Event.objects.create(organizer=org, name='Bench 2027', slug='2027', currency='EUR', plugins='pretix_grants',
                                     date_from=now() - timedelta(days=7), date_to=now() - timedelta(days=5))
        event.settings.grants_application_questions = [
            {'id': 'country', 'type': 'text', 'question': 'Country', 'required': False},
            {'id': 'first_time', 'type': 'boolean', 'question': 'First time?', 'required': False},
            {'id': 'occupation', 'type': 'choice', 'question': 'Occupation', 'required': False,
             'choices': ['Student', 'Employed', 'Self-employed', 'Other']},
        ]
        event.settings.grants_budget = Decimal('500000.00')
        item = event.items.create(name='Ticket', default_price=Decimal('200.00'), admission=True)
        cl = event.checkin_lists.create(name='Entrance', all_products=True)
        user = User.objects.create_user('bench@example.org', 'bench')
        team = org.teams.create(name='Admins', all_events=True, all_event_permissions=True)
        team.members.add(user)
        reviewers = [User.objects.create_user(f'reviewer{i}@example.org', 'x') for i in range(3)]
        countries = ['IT', 'DE', 'FR', 'ES', 'US', 'IN', 'BR', 'NG', 'PL', 'GR', 'PT', 'KE', 'LU', 'IS']
        statuses = ([Grant.STATUS_CONFIRMED] * 5 + [Grant.STATUS_REJECTED] * 2 + [Grant.STATUS_PENDING,
                    Grant.STATUS_WAITING_LIST, Grant.STATUS_REFUSED, Grant.STATUS_EXPIRED, Grant.STATUS_APPROVED])
        grants = []
        for i in range(n):
            status = rnd.choice(statuses)
            offered = status not in (Grant.STATUS_PENDING, Grant.STATUS_REJECTED, Grant.STATUS_WAITING_LIST)
            ordered = status == Grant.STATUS_CONFIRMED and rnd.random() < 0.9
            grants.append(Grant(
                event=event, name=f'Grantee {i}', email=f'g{i}@example.org', status=status,
                travel_amount=Decimal(rnd.choice([0, 150, 300])) if offered else 0,
                accommodation_amount=Decimal(rnd.choice([0, 200])) if offered else 0,
                requested_travel=Decimal(300), offered_at=now() - timedelta(days=30) if offered else None,
                order_status=Order.STATUS_PAID if ordered else '', order_code=f'B{i:05d}' if ordered else '',
                checked_in_at=now() - timedelta(days=6) if ordered and rnd.random() < 0.85 else None,
                answers={'country': rnd.choice(countries), 'first_time': rnd.random() < 0.4,
                         'occupation': str(rnd.randrange(4))},
            ))
        Grant.objects.bulk_create(grants, batch_size=1000)
        grants = list(Grant.objects.filter(event=event))
        # Grant.created is set on insert: spread the applications over the application period
        for g in grants:
            g.created = now() - timedelta(days=60 - rnd.randrange(30))
        Grant.objects.bulk_update(grants, ['created'], batch_size=1000)
        Review.objects.bulk_create([Review(grant=g, user=r, score=rnd.randint(1, 5))
                                    for g in grants for r in reviewers[:rnd.randint(0, 3)]], batch_size=2000)
        ct = ContentType.objects.get_for_model(Grant)
        logs = []
        for g in grants:
            if g.status != Grant.STATUS_PENDING:
                logs.append(LogEntry(content_type=ct, object_id=g.pk, event=event, organizer=org,
                                     action_type=f'pretix_grants.grant.{rnd.choice(["approved", "rejected"])}'))
        LogEntry.objects.bulk_create(logs, batch_size=2000)
        days = [now() - timedelta(days=d) for d in (28, 21, 14)]
        for i, log in enumerate(LogEntry.objects.filter(event=event, action_type__startswith='pretix_grants.grant.')):
            log.datetime = days[i % 3]
            log.save(update_fields=['datetime'])
        claims = [Claim(grant=g, state=rnd.choice([Claim.STATE_SUBMITTED, Claim.STATE_APPROVED, Claim.STATE_PAID]),
                        approved_amount=Decimal(150)) for g in grants if g.checked_in_at and g.travel_amount]
        Claim.objects.bulk_create(claims, batch_size=1000)
        ClaimItem.objects.bulk_create([ClaimItem(claim=c, category='travel', amount=Decimal(150))
                                       for c in Claim.objects.filter(grant__event=event)], batch_size=2000)
        # pretix orders: one per grantee's ticket and as many for everyone else
        tickets = sum(1 for g in grants if g.order_code) * 2
        channel = org.sales_channels.get(identifier='web')
        orders = Order.objects.bulk_create([
            Order(event=event, organizer=org, sales_channel=channel, code=f'O{i:06d}', email=f'o{i}@example.org', status=Order.STATUS_PAID,
                  total=Decimal(0), datetime=now(), expires=now() + timedelta(days=1), locale='en')
            for i in range(tickets)], batch_size=1000)
        orders = list(Order.objects.filter(event=event))
        OrderPosition.all.bulk_create([
            OrderPosition(order=o, organizer=org, item=item, price=Decimal(0), tax_rate=Decimal(0), tax_value=Decimal(0),
                          positionid=1, attendee_name_parts={}, secret=f'bench-secret-{o.pk}',
                          pseudonymization_id=f'P{o.pk:09d}')
            for o in orders], batch_size=1000)
        Checkin.objects.bulk_create([
            Checkin(position=p, list=cl, datetime=now() - timedelta(days=6), type=Checkin.TYPE_ENTRY, successful=True)
            for p in OrderPosition.objects.filter(order__event=event) if rnd.random() < 0.8], batch_size=1000)
        counts = {'grants': n, 'reviews': Review.objects.filter(grant__event=event).count(),
                  'claims': len(claims), 'orders': len(orders), 'decision log entries': len(logs)}
    return event, user, counts


def measure(client, path, rounds=3):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    times, queries = [], 0
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            r = client.get(path)
            times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.status_code
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries, len(r.content)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--grants', type=int, default=10_000)
    parser.add_argument('--out', default=str(ROOT / 'bench' / 'results.md'))
    parser.add_argument('--note', default='')
    parser.add_argument('--postgresql', action='store_true', help='on the PostgreSQL server instead of SQLite')
    args = parser.parse_args()

    if args.postgresql:
        from bench.run import use_postgresql
        use_postgresql(PG_DATABASE)
    os.environ.setdefault('PRETIX_CONFIG_FILE', str(ROOT / 'tests' / 'sqlite.cfg'))
    os.environ['DJANGO_SETTINGS_MODULE'] = 'pretix.testutils.settings'
    sys.path.insert(0, str(ROOT))
    import django
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from bench.run import write_results

    setup_test_environment()
    name = connection.settings_dict['NAME']
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        t = time.perf_counter()
        event, user, counts = build(args.grants)
        print(f'built in {time.perf_counter() - t:.1f} s: {counts}', file=sys.stderr)
        if connection.vendor == 'postgresql':
            with connection.cursor() as c:
                c.execute('ANALYZE')  # as autovacuum would have done by the time anyone looks at the page
        client = Client()
        client.force_login(user)
        base = f'/control/event/{event.organizer.slug}/{event.slug}/grants/statistics/'
        rows = []
        for label, path in [
            ('Statistics page', base),
            ('Statistics page, filtered by status and decision round', base + '?status=confirmed&status=refused&round='
             + (event.date_from.date() - timedelta(days=7)).isoformat()),
            ('Post-event report, PDF', base + 'report/?locale=en&format=pdf'),
            ('Post-event report, CSV', base + 'report/?locale=en&format=csv'),
        ]:
            seconds, queries, size = measure(client, path)
            rows.append(f'| {label} | {args.grants:,} | {seconds * 1000:.0f} ms | {queries} | {size / 1024:.0f} KiB |')
            print(rows[-1], file=sys.stderr)
    finally:
        if connection.vendor == 'postgresql':
            connection.creation.destroy_test_db(name, verbosity=0)
    where = 'PostgreSQL' if args.postgresql else 'SQLite in memory'
    stamp = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    what = ', '.join(f'{v:,} {k}' for k, v in counts.items())
    text = '\n'.join([
        SECTION_PG if args.postgresql else SECTION, '',
        f'{stamp}, 2 cores, {where}, pretix\'s test settings; `python -m bench.insights '
        f'--grants {args.grants}{" --postgresql" if args.postgresql else ""}`. Data: {what}. Server time of the request through Django\'s test client, median '
        f'of 3 after a warm-up; the queries include pretix\'s own for the page (session, permissions, settings).'
        + (f' {args.note}' if args.note else ''), '',
        '| Request | N | Time | Queries | Size |', '|---|---:|---:|---:|---:|', *rows, '',
    ])
    write_results(Path(args.out), text, section=SECTION_PG if args.postgresql else SECTION)
    print(text)


if __name__ == '__main__':
    main()
