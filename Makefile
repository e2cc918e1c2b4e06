# pretix-grants: `make demo` and `make test` work on a fresh clone; each creates the virtualenv if it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := PRETIX_CONFIG_FILE=demo/pretix.cfg DJANGO_SETTINGS_MODULE=demo.settings
PYTEST_ARGS ?=
PG_CONFIG ?= tests/postgres.cfg
STACK_ARGS ?=

.PHONY: venv lint test test-stack test-postgres demo demo-data demo-reset clean bench

$(STAMP): setup.py setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q -e '.[test]'
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

# The demo keeps its data in data/ between runs: `make demo` again reuses it, `make demo-reset` starts afresh.
# Quiet steps, so the login and the links printed by grants_demo are the last lines before the server starts.
demo-data: venv
	@mkdir -p data
	@echo "Preparing the demo database in data/ (the first time takes about a minute) ..."
	@$(DEMO) $(PY) -m pretix migrate --noinput -v 0
	@$(DEMO) $(PY) -m pretix grants_demo

# debug is off in demo/pretix.cfg (no asset build, no npm); --insecure lets runserver serve the static files anyway
demo: demo-data
	@$(DEMO) $(PY) -m pretix runserver --insecure 127.0.0.1:8000

demo-reset:
	rm -rf data

clean:
	rm -rf data build *.egg-info
