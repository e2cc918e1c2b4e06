"""
Both scenarios of `make bench-burst` at a tiny size on the real stack (PostgreSQL, Redis, Celery workers, gunicorn,
locust), so the benchmark keeps working; the numbers mean nothing here, the counts do. Skipped, saying why, where
PostgreSQL or Redis is not there or another burst benchmark holds the bench's Redis databases.
"""
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import BUSY, write_results

ROOT = Path(__file__).resolve().parents[1]


def reachable(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def test_both_bursts_tiny(tmp_path):
    if not (reachable(5432) and reachable(6379)):
        pytest.skip('the burst benchmark needs PostgreSQL on port 5432 and Redis on port 6379')
    if importlib.util.find_spec('locust') is None:  # not imported here: it patches the standard library for gevent
        pytest.skip('locust is not installed (pip install -e .[bench])')
    summary = tmp_path / 'summary.json'
    env = {k: v for k, v in os.environ.items() if k not in ('PRETIX_CONFIG_FILE', 'DJANGO_SETTINGS_MODULE')}
    env['PYTHONPATH'] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, '-m', 'bench.burst', '--grants', '2', '--applications', '3', '--flood-clients', '1',
         '--over-limit', '1', '--users', '3', '--spawn-rate', '3', '--think-min', '0.05', '--think-max', '0.1',
         '--web-workers', '2', '--concurrency', '1', '--warm-up', '0', '--run-time', '90s', '--no-bulk',
         '--database', 'pretix_grants_bench_smoke', '--out', str(tmp_path / 'results.md'),
         '--chart', str(tmp_path / 'chart.png'), '--json', str(summary)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    if proc.returncode == BUSY:
        pytest.skip(proc.stderr.strip())
    assert summary.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(summary.read_text())
    d, a = result['decision'], result['application']
    printed = proc.stdout[-4000:]

    # decision day: each of the 2 grantees confirmed once, got one voucher and one mail, and put the ticket in the cart
    assert d['confirmed_grants'] == d['vouchers'] == d['vouchers_issued'] == 2
    assert d['voucher_mails_at_sink'] == d['voucher_mail_records'] == 2
    assert d['grantees_with_code'] == d['grantee_carts'] == 2
    assert d['outcome']['anchor_carts'] >= 1
    names = {r['name'] for r in d['rows']}
    assert {'grant: reply page', 'grant: confirm (POST)', 'grant: Get your ticket (pretix redeem page)',
            'pretix: event front page', 'pretix: redeem page (plain voucher)', 'pretix: add to cart (POST)'} <= names
    assert all(r['failures'] == 0 for r in d['rows']) and d['server_errors'] == 0
    assert set(d['ratios']) == {'grant: reply page', 'grant: confirm (POST)'}

    # application opening: 3 applicants and one client sending 11, the last of which pretix's rate limit refuses
    assert a['accepted'] == a['grants'] == a['distinct_emails'] == a['accepted_with_grant'] == 3 + 10, printed
    # the table counts every request the visitors sent, to the last one
    requests = {r['name']: r['requests'] for r in a['rows']}
    assert requests['apply: submit (POST)'] == 3 and requests['over the limit: submit (POST)'] == 11, requests
    assert requests['apply: thank-you page'] == 3 and requests['over the limit: thank-you page'] == 10, requests
    assert a['received_mails_at_sink'] == a['received_mail_records'] == 13
    assert a['refused'] == a['refused_with_rate_limit_page'] == 1
    assert a['rate_limit_buckets'] == 4
    assert all(r['failures'] == 0 for r in a['rows']) and a['server_errors'] == 0

    assert all(ok for text, ok in result['checks']), result['checks']
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert '## Burst: decision day and application opening' in (tmp_path / 'results.md').read_text()
    assert (tmp_path / 'chart.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_each_benchmark_rewrites_only_its_own_part_of_the_results(tmp_path):
    out = tmp_path / 'results.md'
    write_results(out, '# benchmarks\n\n| bulk table v1 |\n')
    write_results(out, '## Burst: decision day\n\n| burst v1 |\n', section='## Burst: decision day')
    # a part written by hand after the measured one stays after it
    out.write_text(out.read_text() + '\n## Burst: the runs compared\n\nby hand\n')
    write_results(out, '# benchmarks\n\n| bulk table v2 |\n')
    write_results(out, '## Burst: decision day\n\n| burst v2 |\n', section='## Burst: decision day')

    text = out.read_text()
    assert 'bulk table v2' in text and 'burst v2' in text and 'by hand' in text
    assert 'v1' not in text
    assert text.index('bulk table') < text.index('## Burst: decision day') < text.index('## Burst: the runs compared')
