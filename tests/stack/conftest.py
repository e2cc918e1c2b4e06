"""
Fixtures of the real-stack suite. They start what the tests need and stop it again: a loopback SMTP server that
can be told to refuse mail, and a real Celery worker process consuming pretix's queues from Redis, sharing the
PostgreSQL test database with the tests. Nothing here waits by sleeping: every wait polls a condition with a
deadline.
"""
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
QUEUES = 'default,checkout,mail,background,notifications'
# the worker options doc/operations.md recommends; GRANTS_WORKER_OPTIONS replaces them (make chaos --worker-options)
WORKER_OPTIONS = os.environ.get('GRANTS_WORKER_OPTIONS', '--concurrency 2 --prefetch-multiplier 1 -O fair').split()


def wait_for(condition, timeout=60, interval=0.1, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f'timed out after {timeout}s waiting for {what}')


class SinkHandler:
    """
    Accepts every mail, unless told to answer 421 (try again later) for a while; with ``delay``, it takes that many
    seconds to answer, as a slow server does.
    """

    def __init__(self):
        self.messages = []
        self.refused = 0
        self.refusing = False
        self.delay = 0
        self.delayed = []

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            self.delayed.append(time.time())  # wall clock, to compare with PostgreSQL's
            await asyncio.sleep(self.delay)
        if self.refusing:
            self.refused += 1
            return '421 Service not available, try again later'
        envelope.received_at = time.monotonic()
        self.messages.append(envelope)
        return '250 Message accepted for delivery'

    def to(self, address):
        return [m for m in self.messages if address in m.rcpt_tos]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='session')
def smtp_server():
    handler = SinkHandler()
    controller = Controller(handler, hostname='127.0.0.1', port=free_port(), loop=asyncio.new_event_loop())
    controller.start()
    settings.EMAIL_PORT = controller.port
    yield controller, handler
    controller.stop()


class Worker:
    def __init__(self, env, log):
        self.env, self.log, self.proc = env, log, None
        self.groups = []  # process groups started, so children orphaned by a killed parent are stopped too

    def output(self):
        """What the worker has logged so far."""
        self.log.flush()
        return Path(self.log.name).read_text()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'celery', '-A', 'pretix.celery_app', 'worker', '-Q', QUEUES, *WORKER_OPTIONS,
             '--pool', 'prefork', '--loglevel', 'INFO', '--without-heartbeat', '--without-mingle', '--without-gossip'],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.groups.append(self.proc.pid)
        from pretix.celery_app import app
        wait_for(lambda: self.proc.poll() is None and app.control.ping(timeout=0.5), timeout=60,
                 what='the Celery worker to answer a ping')

    def kill(self):
        """SIGKILL the worker and its pool processes at once, as an OOM kill or a lost machine would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def kill_parent(self):
        """SIGKILL the worker's parent process only, as an OOM kill picks it; its pool processes are left alone."""
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        for group in self.groups:  # pool processes a killed parent left behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.groups = []


class Cron:
    """
    pretix's cron: ``python -m pretix runperiodic`` in a subprocess of its own every ``every`` seconds, with no
    scope, as doc/operations.md recommends (``* * * * *``). Its output is kept; ``errors()`` lists the plugin's.
    """

    def __init__(self, env, log, every=60):
        self.env, self.log, self.every, self.runs = env, log, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            started = time.monotonic()
            subprocess.run([sys.executable, '-m', 'pretix', 'runperiodic'], cwd=ROOT, env=self.env, stdout=self.log,
                           stderr=subprocess.STDOUT, timeout=600)
            self.runs += 1
            self._stop.wait(max(0.0, self.every - (time.monotonic() - started)))

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=660)

    def output(self):
        self.log.flush()
        return Path(self.log.name).read_text()

    def errors(self):
        return [line for line in self.output().splitlines() if line.startswith('ERROR pretix_grants')]


@pytest.fixture(scope='session')
def worker_env(django_db_setup, smtp_server, tmp_path_factory):
    controller, _ = smtp_server
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE='tests.stack.settings',
        PRETIX_DATABASE_NAME=connection.settings_dict['NAME'],
        GRANTS_SMTP_PORT=str(controller.port),
        PYTHONPATH=str(ROOT),
    )
    return env, tmp_path_factory.mktemp('worker')


@pytest.fixture
def stack(worker_env, smtp_server, transactional_db):
    """
    A fresh worker for each test, because the database is emptied between tests and rows such as content types
    come back with new ids that a long-running worker would still have cached. Redis starts empty too, and the
    mail sink accepts.
    """
    env, log_dir = worker_env
    _, handler = smtp_server
    handler.messages.clear()
    handler.refusing = False
    handler.refused = 0
    handler.delay = 0
    handler.delayed.clear()
    for db in (5, 6, 7):  # cache, broker and results of this suite only
        redis.Redis(host='127.0.0.1', port=6379, db=db).flushdb()
    with open(log_dir / f'worker-{time.monotonic_ns()}.log', 'w') as log:
        worker = Worker(env, log)
        worker.start()
        try:
            yield worker, handler
        finally:
            worker.stop()
