import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django_scopes import scopes_disabled
from pretix.base.models import Event, Voucher

from pretix_grants.models import Grant

from .conftest import committed


@pytest.mark.django_db
def test_demo_command_makes_grants_in_every_status_and_can_run_again(capsys):
    # a management command, called with no scope as from a shell; it disables scopes itself, and its commits run
    # what they queued in there
    with committed(scopes_off=True):
        call_command('grants_demo')
    with scopes_disabled():
        event = Event.objects.get(slug='2027', organizer__slug='democon')
        assert 'pretix_grants' in event.get_plugins()
        assert {g.status for g in event.grants.all()} == {s for s, _ in Grant.STATUS_CHOICES}
        assert event.grants.filter(decision__isnull=False).exists()
        confirmed = event.grants.filter(status=Grant.STATUS_CONFIRMED)
        assert all(g.voucher and g.voucher.calculate_price(g.voucher.item.default_price) == 0 for g in confirmed)
        assert Voucher.objects.get(code='COSPEAKER25').price_mode == 'percent'
        # invitation letters: one issued, one waiting
        assert {lr.grant.email: lr.status for lr in event.letter_requests.all()} == {
            'grace@example.org': 'approved', 'ada@example.org': 'requested'}
    out = capsys.readouterr().out
    assert 'admin@localhost / admin' in out and f'{settings.SITE_URL}/control/' in out

    with committed(scopes_off=True):
        call_command('grants_demo')
    with scopes_disabled():
        assert event.grants.count() == len({g.email for g in event.grants.all()}) == 12
        assert event.grants.filter(grant_type=Grant.TYPE_SPEAKER).count() == 1  # travel support for a speaker
        assert event.letter_requests.count() == 2


@pytest.mark.django_db
def test_plugin_is_offered_in_the_events_plugin_settings(admin_client, event):
    response = admin_client.get(f'/control/event/{event.organizer.slug}/{event.slug}/settings/plugins')
    assert response.status_code == 200
    assert 'Grants' in response.content.decode()
    assert 'pretix_grants' in response.content.decode()


ROOT = Path(__file__).resolve().parent.parent


def demo_env(path):
    return {'PRETIX_CONFIG_FILE': str(ROOT / 'demo' / 'pretix.cfg'), 'DJANGO_SETTINGS_MODULE': 'demo.settings',
            'PYTHONPATH': str(ROOT), 'PATH': path, 'HOME': os.environ.get('HOME', '/'), 'LANG': 'C.UTF-8'}


def test_demo_configuration_is_not_debug_mode_so_runserver_builds_no_assets(tmp_path):
    """pretix's runserver starts `npm run dev:control` in debug mode; the demo must not need npm."""
    out = subprocess.run(
        [sys.executable, '-c', 'import sys; sys.argv = ["pretix", "runserver"]; from django.conf import settings; '
                               'print(settings.DEBUG, settings.VITE_DEV_MODE)'],
        env=demo_env(os.environ['PATH']), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ['False', 'False'], out.stderr


def test_make_demos_runserver_serves_pages_without_npm_on_the_path(tmp_path):
    """The server `make demo` starts, with nothing but Python on the PATH, answers with pretix's static files."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    python_only = str(Path(sys.executable).parent)
    assert shutil.which('npm', path=python_only) is None
    proc = subprocess.Popen([sys.executable, '-m', 'pretix', 'runserver', '--insecure', f'127.0.0.1:{port}'],
                            env=demo_env(python_only), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/static/pretixbase/img/favicon-32.png',
                                            timeout=5) as r:
                    assert r.status == 200 and r.headers['Content-Type'] == 'image/png'
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, 'the demo server did not answer within two minutes'
                time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    assert 'npm' not in output and 'Traceback' not in output, output


def test_make_demo_prints_the_login_and_the_grantee_link_last():
    makefile = (ROOT / 'Makefile').read_text()
    demo = re.search(r'^demo: demo-data\n((?:\t.*\n)+)', makefile, re.M).group(1)
    assert demo.strip().startswith('@') and 'runserver --insecure' in demo
    data = re.search(r'^demo-data: venv compilemessages\n((?:\t.*\n)+)', makefile, re.M).group(1).strip().splitlines()
    # every step quiet (no echo of the command), migrate without its ~900 lines, grants_demo (the login) last
    assert all(line.strip().startswith('@') for line in data)
    assert 'migrate --noinput -v 0' in data[-2] and data[-1].strip().endswith('grants_demo')
    assert re.search(r'^demo-reset:\n\trm -rf data$', makefile, re.M)
