# pretix-grants: `make demo` and `make test` work on a fresh clone; each creates the virtualenv if it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := PRETIX_CONFIG_FILE=demo/pretix.cfg DJANGO_SETTINGS_MODULE=demo.settings
PYTEST_ARGS ?=
PG_CONFIG ?= tests/postgres.cfg
STACK_ARGS ?=

.PHONY: venv lint test test-stack test-postgres demo demo-data demo-reset clean bench bench-burst chaos messages compilemessages catalogues

# Translations: the .po files are committed, the .mo files are compiled from them (by the package build too).
# `make messages` (needs GNU gettext) updates the .po files from the code and keeps existing translations;
# `make catalogues` lists per language what is missing, untranslated, fuzzy or has other placeholders.
LANGUAGES := de it fr es
MO_FILES := $(foreach l,$(LANGUAGES),pretix_grants/locale/$(l)/LC_MESSAGES/django.mo)

pretix_grants/locale/%/LC_MESSAGES/django.mo: pretix_grants/locale/%/LC_MESSAGES/django.po tools/catalogues.py | $(STAMP)
	$(PY) tools/catalogues.py compile $*

compilemessages: $(MO_FILES)

messages: venv
	$(PY) tools/catalogues.py messages

catalogues: venv
	$(PY) tools/catalogues.py check

$(STAMP): setup.py setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/flake8 pretix_grants tests demo bench tools
	$(VENV)/bin/isort --check-only --diff pretix_grants tests demo bench tools
	mkdir -p data
	$(DEMO) $(PY) -m pretix makemigrations --check --dry-run pretix_grants

test: lint compilemessages pretalx-venv
	PRETIX_CONFIG_FILE=tests/sqlite.cfg $(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) test-stack

# PostgreSQL, Redis, a real Celery worker and a loopback SMTP server; skipped, saying why, if they are not there
test-stack: venv compilemessages
	@if $(PY) tests/stack/reachable.py; then \
		DJANGO_SETTINGS_MODULE=tests.stack.settings $(PY) -m pytest tests/stack --create-db -p no:cacheprovider $(STACK_ARGS); \
	fi

# the stack suite's chaos scenario alone, printing its figures; CHAOS_ARGS e.g. --stalled-mail-seconds 300 --cron-every 60
# (see tests/stack/chaos.py --help and doc/operations.md)
CHAOS_ARGS ?=
chaos: venv
	$(PY) tests/stack/chaos.py $(CHAOS_ARGS)

test-postgres: venv compilemessages
	PRETIX_CONFIG_FILE=$(PG_CONFIG) $(PY) -m pytest --create-db $(PYTEST_ARGS)

# builds the sdist and the wheel, checks them, installs the wheel with pretix into a fresh virtualenv, migrates
# a throwaway SQLite database and finds the plugin in pretix's plugin list (.ci/package-check); removes it all after
.PHONY: package
package: venv
	$(PY) .ci/package-check

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

# The demo keeps its data in data/ between runs: `make demo` again reuses it, `make demo-reset` starts afresh.
# Quiet steps, so the login and the links printed by grants_demo are the last lines before the server starts.
demo-data: venv compilemessages
	@mkdir -p data
	@echo "Preparing the demo database in data/ (the first time takes several minutes) ..."
	@$(DEMO) $(PY) -m pretix migrate --noinput -v 0
	@$(DEMO) $(PY) -m pretix grants_demo

# debug is off in demo/pretix.cfg (no asset build, no npm); --insecure lets runserver serve the static files anyway
demo: demo-data
	@$(DEMO) $(PY) -m pretix runserver --insecure 127.0.0.1:8000

demo-reset:
	rm -rf data

clean:
	rm -rf data build *.egg-info $(MO_FILES)

# A real pretalx for the speaker tests (tests/speakers) and the speaker benchmark, in a virtualenv of its own:
# pretalx pins its own Django and needs Python 3.13. `make pretalx` serves one beside the demo (see doc/speakers.md).
# the first Python 3.13 that runs (a pyenv shim is on PATH even where pyenv would refuse to run it)
PRETALX_PYTHON ?= $(shell for p in python3.13 $(HOME)/.pyenv/versions/3.13*/bin/python3; do \
	$$p -c '' 2>/dev/null && { command -v $$p; break; }; done)
PRETALX_VENV ?= .pretalx-venv
PRETALX_STAMP := $(PRETALX_VENV)/.installed
.PHONY: pretalx-venv pretalx

$(PRETALX_STAMP):
	test -x $(PRETALX_VENV)/bin/python || $(PRETALX_PYTHON) -m venv $(PRETALX_VENV)
	$(PRETALX_VENV)/bin/python -m pip install -q --upgrade pip
	$(PRETALX_VENV)/bin/python -m pip install -q 'pretalx>=2026.2,<2026.3'
	touch $(PRETALX_STAMP)

pretalx-venv: $(PRETALX_STAMP)

pretalx: pretalx-venv venv
	$(PY) tests/speakers/pretalx_server.py --serve 127.0.0.1:8001
