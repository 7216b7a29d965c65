# Jigsaw: `make run` starts the whole product on the embedded default; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# .python-version selects Python 3.12 through pyenv; without pyenv, python3.12 on the PATH.
BASE_PYTHON := $(shell pyenv which python 2>/dev/null || command -v python3.12)
HOST := 127.0.0.1
PORT := 8000

.PHONY: help run setup test lint bench schema clean

help:
	@echo "make run    start Jigsaw on http://$(HOST):$(PORT)/ (SQLite, tasks in-process, e-mail to the console, demo data)"
	@echo "make test   run the whole test suite (PostgreSQL, Redis, a Celery worker and Chromium; then the fast part on SQLite)"
	@echo "make lint   ruff and the migrations check"
	@echo "make bench  run the benchmarks and rewrite docs/benchmarks.md"
	@echo "make schema write the REST API's OpenAPI document to docs/api/openapi.yaml"

setup: $(VENV)/.installed node_modules/.installed static_build/jigsaw/jigsaw.css

$(VENV)/.installed: pyproject.toml
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then rm -rf $(VENV); fi
	@if [ ! -x $(PY) ]; then \
		test -n "$(BASE_PYTHON)" || { echo "Python 3.12 is needed: install it with pyenv (pyenv install 3.12)." >&2; exit 1; }; \
		"$(BASE_PYTHON)" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static_build/jigsaw/jigsaw.css: node_modules/.installed $(wildcard assets/scss/*.scss)
	npm run --silent build

run: setup
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "Jigsaw is starting on http://$(HOST):$(PORT)/ : sign in there with a demo user above."
	@echo "Administration: http://$(HOST):$(PORT)/admin/ (user admin). Health: http://$(HOST):$(PORT)/healthz"
	@echo "E-mail is printed here, tasks and the minute jobs run in-process, data is in var/jigsaw.sqlite3. Stop with Ctrl+C."
	@echo
	$(PY) manage.py run_embedded $(HOST):$(PORT)

test: setup
	scripts/test

lint: setup
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run

BENCH_ENV = DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/jigsaw} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/2}

bench: setup
	$(BENCH_ENV) scripts/services-up
	$(BENCH_ENV) $(PY) bench/run.py

schema: setup
	$(PY) manage.py spectacular --validate --fail-on-warn --file docs/api/openapi.yaml

clean:
	rm -rf $(VENV) node_modules static_build staticfiles var .pytest_cache .ruff_cache
