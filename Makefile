# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FLASK := $(BIN)/flask --app network

.PHONY: run test test-fast bench lint format assets translations db install clean e2e-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || bash scripts/ensure_system_packages.sh python3-venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

translations: install
	$(BIN)/python scripts/translations.py compile

db: install translations
	$(FLASK) db upgrade

## Create the venv, install, migrate, load the Münsterland demo data and serve on 127.0.0.1:5000.
run: db
	$(FLASK) demo load --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

## The whole suite: unit, integration (SQLite, or PostgreSQL with TEST_DATABASE_URL) and browser tests.
test: install translations e2e-deps
	$(BIN)/python -m pytest

## Everything but the browser journeys.
test-fast: install translations
	$(BIN)/python -m pytest -m "not e2e"

e2e-deps:
	@bash scripts/ensure_system_packages.sh chromium

bench: install
	$(BIN)/python -m benchmarks --all

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Refresh the vendored front-end libraries from npm (needs Node.js; `make run` does not).
assets:
	bash scripts/refresh_assets.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
