.DEFAULT_GOAL := help
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install the app with its test tools

FAKE_INFAKT_PORT ?= 8099

run: install ## Migrate, load demo data, serve http://127.0.0.1:$(PORT) with a Celery worker and beat (SQLite + filesystem broker)
	bash scripts/run.sh $(PORT) $(FAKE_INFAKT_PORT)

test: ## Run the whole suite against a throwaway PostgreSQL and Redis (installs what it needs)
	bash scripts/test.sh

lint: install ## ruff and the import-linter architecture contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: install ## Benchmarks (not part of the tests); needs a PostgreSQL: see README
	bash scripts/bench.sh

.PHONY: help install run test lint bench
