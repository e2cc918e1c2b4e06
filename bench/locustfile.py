"""
The simulated visitors of `make bench-burst`, for locust. bench/burst.py builds the events, writes a plan (JSON, its
path in BENCH_BURST_PLAN) and runs locust headless on this file; what the visitors saw goes back as JSON to the
plan's ``outcome`` path when locust stops.

Decision day: ``Grantee`` opens the reply page of one grant after another from the plan, confirms with the form's
CSRF token, reloads until the voucher code shows (waiting as long as the page's own refresh says), follows "Get your
ticket" to pretix's redeem page and adds the ticket to the cart as pretix's JavaScript does (POST, then polling the
task's result). ``Shopper`` is the anchor, at the same time and under the same load: a new visitor on the event's
front page, pretix's redeem page with a plain voucher, and pretix's cart add.

Application opening: ``Applicant`` fills in the application form once per address of the plan, each from its own
client address (X-Forwarded-For, which the bench's pretix trusts as one behind a reverse proxy does); ``Flooder``
sends more applications from one address than the rate limit allows.
"""
import json
import os
import re
import time
from collections import Counter
from html import unescape
from urllib.parse import urlsplit

import gevent
from locust import between, events
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

PLAN = json.loads(open(os.environ['BENCH_BURST_PLAN']).read()) if os.environ.get('BENCH_BURST_PLAN') else {}
SCENARIO = PLAN.get('scenario')
HEADERS = {'Host': PLAN.get('host', 'example.com')}

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VOUCHER = re.compile(r'id="voucher-code">([^<]+)<')
REDEEM = re.compile(r'href="([^"]+)"[^>]*id="redeem"')
REFRESH = re.compile(r'http-equiv="refresh" content="(\d+);url=([^"]+)"')
ITEM = re.compile(r'name="(item_\d+)"')
SELECTED = re.compile(r'name="_selected_item"[^>]*?value="(item_\d+)"', re.S)  # one product to choose (max 1)

outcome = {
    'confirmed': [], 'codes': {}, 'carts': 0, 'cart_errors': [], 'anchor_carts': 0, 'accepted': [], 'refused': 0,
    'refused_page': 0, 'server_errors': Counter(), 'unexpected': [],
}
queues = {
    'grants': iter(PLAN.get('grants', [])),
    'applicants': iter(range(PLAN.get('applications', 0))),
    'flooders': iter(range(PLAN.get('flood_clients', 0))),
}
active = Counter()
# the run ends once every item of every queue has been taken and no visitor is busy with one
TOTALS = {'grants': len(PLAN.get('grants', [])), 'applicants': PLAN.get('applications', 0),
          'flooders': PLAN.get('flood_clients', 0)}
taken = Counter()


def take(queue):
    item = next(queues[queue], None)
    if item is not None:
        taken[queue] += 1
    return item


def path(url):
    """The path and query of a URL pretix gave (absolute on its own domain, or already a path)."""
    parts = urlsplit(unescape(url))
    return parts.path + (f'?{parts.query}' if parts.query else '')


def csrf(text):
    m = CSRF.search(text or '')
    return m.group(1) if m else ''


@events.request.add_listener
def _count_server_errors(request_type, name, response_time, response_length, response=None, exception=None, **kw):
    status = getattr(response, 'status_code', 0) or 0
    if status >= 500:
        outcome['server_errors'][name] += 1


ENVIRONMENT = []


@events.init.add_listener
def _keep_environment(environment, **kw):
    ENVIRONMENT.append(environment)


@events.quit.add_listener
def _write_outcome(**kw):
    """
    Once locust has stopped every visitor: what they saw, and the request statistics in full (locust's CSV files are
    written once a second while it runs, so they can miss the last second).
    """
    if not PLAN.get('outcome'):
        return
    with open(PLAN['outcome'], 'w') as f:
        json.dump(dict(outcome, server_errors=dict(outcome['server_errors'])), f)
    rows = [
        {'name': s.name, 'requests': s.num_requests, 'failures': s.num_failures,
         'p50': s.get_response_time_percentile(0.5), 'p95': s.get_response_time_percentile(0.95),
         'p99': s.get_response_time_percentile(0.99), 'rps': s.total_rps}
        for s in ENVIRONMENT[0].runner.stats.entries.values()
    ]
    with open(PLAN['stats'], 'w') as f:
        json.dump(rows, f)


def done_if_all_finished(user, kind):
    """The run stops by itself once every visitor of the plan is through."""
    active[kind] -= 1
    if all(taken[q] >= n for q, n in TOTALS.items()) and not any(active[k] for k in ('Grantee', 'Applicant', 'Flooder')):
        gevent.spawn(user.environment.runner.quit)  # not from this user's own greenlet, which quitting stops
    raise StopUser()


class Visitor(FastHttpUser):
    abstract = True
    # reading and clicking, like a person on a phone
    wait_time = between(PLAN.get('think_min', 0.5), PLAN.get('think_max', 2.0))

    def get(self, url, name, expect=(200,)):
        with self.client.get(path(url), headers=HEADERS, name=name, allow_redirects=False,
                             catch_response=True) as r:
            self._judge(r, expect)
        return r

    def post(self, url, data, name, expect=(302,), extra_headers=None):
        with self.client.post(path(url), data=data, headers=dict(HEADERS, **(extra_headers or {})), name=name,
                              allow_redirects=False, catch_response=True) as r:
            self._judge(r, expect)
        return r

    def _judge(self, r, expect):
        if r.status_code in expect:
            r.success()
        else:
            r.failure(f'HTTP {r.status_code}')

    def add_to_cart(self, redeem_page, label):
        """pretix's redeem page form, posted as its JavaScript does; then its task's result polled until ready."""
        text = redeem_page.text or ''
        items = [(name, '1') for name in ITEM.findall(text)] + [('_selected_item', v) for v in SELECTED.findall(text)]
        code = re.search(r'name="_voucher_code" value="([^"]*)"', text)
        if not items or not code:
            body = text[text.find('<main'):]
            shown = re.sub(r'<[^>]+>|\s+', ' ', body)[:400]
            outcome['unexpected'].append(f'{label}: no product on the redeem page: {shown}')
            return False
        data = {'csrfmiddlewaretoken': csrf(text), '_voucher_code': code.group(1), items[0][0]: items[0][1],
                'ajax': '1'}
        r = self.post(f'{PLAN["event_path"]}cart/add', data, f'{label}: add to cart (POST)', expect=(200,),
                      extra_headers={'X-Requested-With': 'XMLHttpRequest'})
        for _ in range(120):
            try:
                result = r.json()
            except ValueError:
                return False
            if result.get('ready'):
                if not result.get('success'):
                    outcome['cart_errors'].append(result.get('message', ''))
                return bool(result.get('success'))
            time.sleep(0.25)  # pretix's JavaScript polls the task's check URL at about this pace
            r = self.get(result['check_url'], f'{label}: add to cart (result)')
        return False


class Grantee(Visitor):
    abstract = SCENARIO != 'decision'
    weight = PLAN.get('grantee_weight', 4)

    def on_start(self):
        active['Grantee'] += 1

    def task_one_grant(self):
        secret_path = take('grants')
        if secret_path is None:
            done_if_all_finished(self, 'Grantee')
        self.client.cookiejar.clear()  # each grantee on their own phone
        page = self.get(secret_path, 'grant: reply page')
        self.wait()
        r = self.post(secret_path, {'csrfmiddlewaretoken': csrf(page.text), 'answer': 'confirm'},
                      'grant: confirm (POST)')
        if r.status_code != 302:
            return
        outcome['confirmed'].append(secret_path)
        page = self.get(r.headers.get('Location') or secret_path, 'grant: reply page after confirming')
        while True:
            m = VOUCHER.search(page.text or '')
            if m:
                outcome['codes'][secret_path] = m.group(1).strip()
                break
            refresh = REFRESH.search(page.text or '')
            if not refresh:
                outcome['unexpected'].append(f'{secret_path}: no voucher and no refresh')
                return
            time.sleep(int(refresh.group(1)))
            page = self.get(refresh.group(2), 'grant: reload until the voucher shows')
        link = REDEEM.search(page.text or '')
        if not link:
            outcome['unexpected'].append(f'{secret_path}: no "Get your ticket" link')
            return
        self.wait()
        # the button keeps the grantee's language: pretix's language switch, then its redeem page with the code
        switch = self.get(link.group(1), 'grant: Get your ticket (language)', expect=(302,))
        redeem = self.get(switch.headers.get('Location', ''), 'grant: Get your ticket (pretix redeem page)')
        self.wait()
        if self.add_to_cart(redeem, 'grant'):
            outcome['carts'] += 1

    tasks = [task_one_grant]


class Shopper(Visitor):
    abstract = SCENARIO != 'decision'
    weight = PLAN.get('shopper_weight', 1)

    def visit(self):
        self.client.cookiejar.clear()  # a new visitor each time, so pretix's per-order limit never applies
        self.get(PLAN['event_path'], 'pretix: event front page')
        self.wait()
        redeem = self.get(f'{PLAN["event_path"]}redeem?voucher={PLAN["plain_voucher"]}',
                          'pretix: redeem page (plain voucher)')
        self.wait()
        if self.add_to_cart(redeem, 'pretix'):
            outcome['anchor_carts'] += 1

    tasks = [visit]


class ApplicationFormVisitor(Visitor):
    """
    Fills in the application form. Applicant and Flooder derive from this class, not from each other: locust adds
    a base class's tasks to its subclass's, so a Flooder deriving from Applicant would run the applicant's task too.
    """
    abstract = True

    def send(self, email, headers, label):
        form = PLAN['apply_path']
        with self.client.get(form, headers=dict(HEADERS, **headers), name=f'{label}: application form',
                             catch_response=True, allow_redirects=False) as page:
            self._judge(page, (200,))
        self.wait()
        data = {'csrfmiddlewaretoken': csrf(page.text), 'name': f'Applicant {email}', 'email': email,
                'locale': 'en', 'motivation': 'I would like to learn and to meet the community.',
                'requested_ticket': 'on'}
        with self.client.post(form, data=data, headers=dict(HEADERS, **headers), name=f'{label}: submit (POST)',
                              catch_response=True, allow_redirects=False) as r:
            if r.status_code == 302:
                r.success()
                outcome_kind = 'accepted'
            elif r.status_code == 429 and label == 'over the limit':
                r.success()
                outcome_kind = 'refused'
                if 'many applications from your network' in (r.text or ''):
                    outcome['refused_page'] += 1
            else:
                r.failure(f'HTTP {r.status_code}')
                return 'failed'
        if outcome_kind == 'accepted':
            self.get(r.headers['Location'], f'{label}: thank-you page')
        return outcome_kind


class Applicant(ApplicationFormVisitor):
    abstract = SCENARIO != 'application'
    weight = PLAN.get('applicant_weight', 20)

    def on_start(self):
        active['Applicant'] += 1

    def apply_once(self):
        i = take('applicants')
        if i is None:
            done_if_all_finished(self, 'Applicant')
        self.client.cookiejar.clear()
        # one address per applicant, from 100.64.0.0/10, which pretix's rate limit counts as a public address
        headers = {'X-Forwarded-For': f'100.{64 + i // 65536 % 64}.{i // 256 % 256}.{i % 256}'}
        if self.send(f'applicant{i}@{PLAN["domain"]}', headers, 'apply') == 'accepted':
            outcome['accepted'].append(f'applicant{i}@{PLAN["domain"]}')

    tasks = [apply_once]


class Flooder(ApplicationFormVisitor):
    """One address sending ``per_flooder`` applications: beyond pretix's rate limit they are refused."""
    abstract = SCENARIO != 'application'
    fixed_count = PLAN.get('flood_clients', 0)

    def on_start(self):
        active['Flooder'] += 1

    def apply_once(self):
        k = take('flooders')
        if k is None:
            done_if_all_finished(self, 'Flooder')
        headers = {'X-Forwarded-For': f'100.127.255.{k + 1}'}
        for j in range(PLAN['per_flooder']):
            self.client.cookiejar.clear()
            email = f'flood{k}x{j}@{PLAN["domain"]}'
            result = self.send(email, headers, 'over the limit')
            if result == 'accepted':
                outcome['accepted'].append(email)
            elif result == 'refused':
                outcome['refused'] += 1
        done_if_all_finished(self, 'Flooder')

    tasks = [apply_once]
