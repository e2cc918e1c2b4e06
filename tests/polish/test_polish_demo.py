"""The demo's links come from pretix's configured URL, and its output is not buried under Celery's task lines."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from ..conftest import committed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_demo_prints_links_from_the_configured_url(capsys, settings):
    settings.SITE_URL = 'https://grants.example.org'
    with committed():
        call_command('grants_demo')
    out = capsys.readouterr().out
    links = re.findall(r'https?://\S+', out)
    assert len(links) == 6, out
    assert all(link.startswith('https://grants.example.org/') for link in links), links
    assert '127.0.0.1' not in out
    assert 'https://grants.example.org/control/event/democon/2027/grants/' in links
    assert 'https://grants.example.org/democon/2027/' in links


def test_the_demo_settings_keep_celerys_task_lines_off_the_terminal(tmp_path):
    """What `make demo-data` runs logs with demo/settings.py: a task's INFO line goes to the log file only."""
    code = ('import django, logging; django.setup(); '
            'logging.getLogger("celery.app.trace").info("Task pretix.base.services.mail.mail_send_task[x] succeeded"); '
            'logging.getLogger("pretix_grants").warning("still shown")')
    env = {'PRETIX_CONFIG_FILE': str(ROOT / 'demo' / 'pretix.cfg'), 'DJANGO_SETTINGS_MODULE': 'demo.settings',
           'PYTHONPATH': str(ROOT), 'PATH': os.environ['PATH'], 'HOME': os.environ.get('HOME', '/'), 'LANG': 'C.UTF-8'}
    (tmp_path / 'data').mkdir()
    out = subprocess.run([sys.executable, '-c', code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)  # a guard against a hang: the demo migrates on a busy machine
    assert out.returncode == 0, out.stderr
    terminal = out.stdout + out.stderr
    assert 'succeeded' not in terminal and 'still shown' in terminal
    assert 'succeeded' in (tmp_path / 'data' / 'logs' / 'pretix.log').read_text()
