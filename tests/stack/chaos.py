"""
`make chaos`: the stack suite's chaos scenario (test_chaos.py) on its own, printing its figures (grants, vouchers,
mails per grantee, mails the sweep sent again, time to the last mail after the faults), so the settings
doc/operations.md recommends can be tried with other values before they go to production. It uses the suite's
PostgreSQL database and Redis databases 5-7 on this machine; the options override the suite's settings:

    python tests/stack/chaos.py --grants 600 --stalled-mail-seconds 300 --cron-every 60 --bound 480 \\
        --visibility-timeout 3600 --worker-options "--concurrency 4 --prefetch-multiplier 1 -O fair"
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--grants', type=int, help='confirmed grants issued in bulk (default 200)')
    parser.add_argument('--stalled-mail-seconds', type=int,
                        help="the sweep's threshold, as [grants] stalled_mail_seconds (default: 5 SMTP timeouts, "
                             "at least 120)")
    parser.add_argument('--visibility-timeout', type=int, help="the Redis broker's visibility timeout (default 3600)")
    parser.add_argument('--worker-options', help='options of the Celery worker (default "--concurrency 2 '
                                                 '--prefetch-multiplier 1 -O fair")')
    parser.add_argument('--cron-every', type=int, help="seconds between runs of pretix's runperiodic in a subprocess "
                                                       '(default 60, as cron every minute)')
    parser.add_argument('--bound', type=int, help='seconds after the faults by which every mail must be there '
                                                  '(default 300)')
    args = parser.parse_args()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE='tests.stack.settings', PYTHONPATH=str(ROOT))
    if args.grants:
        env['GRANTS_CHAOS_N'] = str(args.grants)
    if args.stalled_mail_seconds:
        env['PRETIX_GRANTS_STALLED_MAIL_SECONDS'] = str(args.stalled_mail_seconds)
    if args.visibility_timeout:
        env['PRETIX_CELERY_BROKER_TRANSPORT_OPTIONS'] = json.dumps({'visibility_timeout': args.visibility_timeout})
    if args.worker_options:
        env['GRANTS_WORKER_OPTIONS'] = args.worker_options
    if args.cron_every:
        env['GRANTS_CHAOS_CRON_EVERY'] = str(args.cron_every)
    if args.bound:
        env['GRANTS_CHAOS_BOUND'] = str(args.bound)
    if subprocess.call([sys.executable, str(ROOT / 'tests/stack/reachable.py')]) != 0:
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        env['GRANTS_CHAOS_REPORT'] = report = os.path.join(tmp, 'chaos.txt')
        code = subprocess.call([sys.executable, '-m', 'pytest', 'tests/stack/test_chaos.py', '--create-db',
                                '-p', 'no:cacheprovider', '-q', '-s', '-W', 'ignore'], cwd=ROOT, env=env)
        if os.path.exists(report):
            print('\nchaos scenario ' + ('passed' if code == 0 else 'FAILED') + ':\n' + Path(report).read_text())
    return code


if __name__ == '__main__':
    sys.exit(main())
