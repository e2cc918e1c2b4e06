"""
A real pretalx on loopback for the speaker tests, the speaker benchmark and the demo: pretalx from PyPI in its own
virtualenv (``make pretalx-venv``), migrated on SQLite once into a template database kept in the virtualenv, then
per run a copy in a temporary folder, filled through pretalx's own code (``pretalx_side/grants_pretalx.py``) and
served by pretalx's ``runserver``.

    python tests/speakers/pretalx_server.py --serve 127.0.0.1:8001 [--speakers N]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[2]
# PRETALX_VENV: a virtualenv outside the tree (CI keeps one between runs), else .pretalx-venv in the tree
VENV = Path(os.environ.get('PRETALX_VENV') or ROOT / '.pretalx-venv').resolve()
PYTHON = VENV / 'bin' / 'python'
SIDE = Path(__file__).resolve().parent / 'pretalx_side'
TEMPLATE = VENV / 'grants-template'


def ensure_venv():
    """Build pretalx's virtualenv if it is missing (a fresh clone): the Makefile's target, a few minutes once."""
    if not (VENV / '.installed').exists():
        subprocess.run(['make', '-C', str(ROOT), 'pretalx-venv', f'PRETALX_VENV={VENV}'], check=True)


def _env(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('DJANGO_', 'PRETIX_'))}
    env.update(PYTHONPATH=str(SIDE), DJANGO_SETTINGS_MODULE='grants_pretalx_settings', PRETALX_DATA_DIR=str(data_dir),
               PRETALX_REDIS_SESSIONS='False', PRETALX_SITE_URL='http://127.0.0.1')
    return env


def ensure_template():
    """pretalx's migrations take minutes on this machine: run them once per virtualenv, copy the database after."""
    ensure_venv()
    if (TEMPLATE / 'ready').exists():
        return
    shutil.rmtree(TEMPLATE, ignore_errors=True)
    TEMPLATE.mkdir(parents=True)
    subprocess.run([str(PYTHON), '-m', 'pretalx', 'migrate', '--noinput', '-v', '0'], env=_env(TEMPLATE),
                   cwd=TEMPLATE, check=True, stdout=subprocess.DEVNULL)
    (TEMPLATE / 'ready').write_text('')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class PretalxServer:
    """One pretalx with its own data, filled by ``setup``; ``start``/``stop`` its web server; ``run`` a change."""

    def __init__(self, speakers=None, port=None):
        ensure_template()
        self.dir = Path(tempfile.mkdtemp(prefix='grants-pretalx-'))
        shutil.copy(TEMPLATE / 'db.sqlite3', self.dir / 'db.sqlite3')
        self.port = port or free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.process = None
        self.data = self.run('setup', *(['--speakers', str(speakers)] if speakers else []))
        self.event = self.data['event']
        self.token = self.data['tokens']['orga']
        self.snapshot()

    def run(self, *args):
        """A command of ``grants_pretalx.py`` through pretalx's code; its JSON answer."""
        r = subprocess.run([str(PYTHON), str(SIDE / 'grants_pretalx.py'), *args], env=_env(self.dir), cwd=self.dir,
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f'pretalx command {args} failed:\n{r.stderr[-3000:]}')
        return json.loads(r.stdout.strip().splitlines()[-1])

    def snapshot(self):
        shutil.copy(self.dir / 'db.sqlite3', self.dir / 'snapshot.sqlite3')

    def reset(self):
        """
        Back to the data right after ``setup``. pretalx keeps no SQLite connection between requests
        (``CONN_MAX_AGE`` 0 for SQLite), so the file is overwritten in place while the server waits for the next one.
        """
        shutil.copyfile(self.dir / 'snapshot.sqlite3', self.dir / 'db.sqlite3')

    def start(self):
        if self.process is not None:
            return
        self.log = open(self.dir / 'server.log', 'ab')
        self.process = subprocess.Popen(
            [str(PYTHON), '-m', 'pretalx', 'runserver', '--noreload', '--nothreading', f'127.0.0.1:{self.port}'],
            env=_env(self.dir), cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300  # a loaded machine of 2 cores
        while time.monotonic() < deadline:
            try:
                urlopen(f'{self.url}/api/', timeout=2)
                return
            except URLError as e:
                if getattr(e, 'code', None):
                    return  # pretalx answers
                if self.process.poll() is not None:
                    break
                time.sleep(0.3)
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError('pretalx did not start: ' + (self.dir / 'server.log').read_text()[-3000:])

    def stop(self):
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self.log.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--serve', default='127.0.0.1:8001')
    parser.add_argument('--speakers', type=int, default=None)
    args = parser.parse_args()
    server = PretalxServer(speakers=args.speakers, port=int(args.serve.rsplit(':', 1)[1]))
    server.start()
    print(f'pretalx serves {server.url}/api/events/{server.event}/ ; in the plugin\'s "Speakers from pretalx" '
          f'settings enter URL {server.url}, event slug {server.event}, token {server.token}')
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == '__main__':
    sys.exit(main())
