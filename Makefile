# Levqor console. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: install run test lint format migrate-check bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## Set up (virtualenv, packages, database, schedules, demo data) and start
## the web server with a django-q2 cluster beside it.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py sync_schedules
	$(BIN)/python manage.py seed_demo
	$(BIN)/python scripts/dev.py

## Install and run the whole test suite (DATABASE_URL / REDIS_URL choose the backends),
## one pytest-xdist worker per core (TEST_WORKERS=0: one process). Bytecode and pytest's
## rewritten test modules are cached (__pycache__, ignored by git) even where the
## environment sets PYTHONDONTWRITEBYTECODE: otherwise every worker recompiles them every run.
TEST_WORKERS ?= auto
test: install
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "NOTE: /usr/bin/chromium is missing: browser tests will be skipped (apt-get install chromium chromium-driver)."; \
	fi
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## ruff, and the import layering (.importlinter: who may import whom).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

## Print the benchmark figures (requests per second of a trivial view under gunicorn, ...).
bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var staticfiles
