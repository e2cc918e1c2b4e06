# pretix-grants: `make demo` and `make test` work on a fresh clone; each creates the virtualenv if it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := PRETIX_CONFIG_FILE=demo/pretix.cfg DJANGO_SETTINGS_MODULE=demo.settings
PYTEST_ARGS ?=
PG_CONFIG ?= tests/postgres.cfg
STACK_ARGS ?=

.PHONY: venv lint test test-stack test-postgres demo demo-data clean bench bench-burst

$(STAMP): setup.py setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/flake8 pretix_grants tests demo bench
	$(VENV)/bin/isort --check-only --diff pretix_grants tests demo bench
	mkdir -p data
	$(DEMO) $(PY) -m pretix makemigrations --check --dry-run pretix_grants

test: lint
	PRETIX_CONFIG_FILE=tests/sqlite.cfg $(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) test-stack

# PostgreSQL, Redis, a real Celery worker and a loopback SMTP server; skipped, saying why, if they are not there
test-stack: venv
	@if $(PY) tests/stack/reachable.py; then \
		DJANGO_SETTINGS_MODULE=tests.stack.settings $(PY) -m pytest tests/stack --create-db -p no:cacheprovider $(STACK_ARGS); \
	fi

test-postgres: venv
	PRETIX_CONFIG_FILE=$(PG_CONFIG) $(PY) -m pytest --create-db $(PYTEST_ARGS)

# benchmarks on PostgreSQL (its own database, created and dropped), Redis dbs 10-12, Celery workers, an SMTP sink;
# writes bench/results.md. BENCH_ARGS e.g. --sizes 1000 for a quicker run.
BENCH_ARGS ?=
bench: venv
	$(PY) bench/run.py $(BENCH_ARGS)

# decision day and application opening under locust against pretix under gunicorn (the same stack); writes its
# section of bench/results.md and bench/burst-latency.png. BURST_ARGS e.g. --grants 200 --applications 400.
BURST_ARGS ?=
bench-burst: venv
	$(PY) -m bench.burst $(BURST_ARGS)

demo-data: venv
	mkdir -p data
	$(DEMO) $(PY) -m pretix migrate --noinput
	$(DEMO) $(PY) -m pretix grants_demo

demo: demo-data
	$(DEMO) $(PY) -m pretix runserver 127.0.0.1:8000

clean:
	rm -rf data build *.egg-info
