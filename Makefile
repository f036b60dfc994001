# AIRisk developer commands. `make run` and `make test` are the contract with a new user (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt | cksum | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help venv run test lint format migrate bench-oauth bench-users bench-scanners bench-scanner-accuracy bench-documents bench-engines bench-chat bench-oversight bench-rollups bench-compliance clean

help:
	@echo "make run    - set up .venv, migrate, seed demo data, serve http://$(HOST):$(PORT) (SQLite by default)"
	@echo "             with the development engine of the demo agent on http://127.0.0.1:8765/v1"
	@echo "make test   - ruff + the whole pytest suite (SQLite by default; PostgreSQL when DATABASE_URL says so)"
	@echo "make lint   - ruff check and format check only"

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "AIRisk needs Python 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput

# The development engine (manage.py run_demo_llm, http://127.0.0.1:8765/v1, which the demo agent uses) runs in the
# background while the server runs, and is stopped with it.
run: migrate
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_demo_llm --port 8765 & demo_llm=$$!; \
	trap 'kill $$demo_llm 2>/dev/null; wait $$demo_llm 2>/dev/null' EXIT; \
	DEBUG=$${DEBUG:-true} $(BIN)/uvicorn airisk.asgi:application --host $(HOST) --port $(PORT) --no-proxy-headers --lifespan on --timeout-graceful-shutdown 5 --reload --reload-dir apps --reload-dir airisk

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Browser tests (marker e2e) need Debian's chromium; without it they are left out and the summary says so.
test: lint
	@if [ -x "$(CHROMIUM)" ]; then \
		$(BIN)/python -m pytest $(PYTEST_ARGS); \
	else \
		status=0; $(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS) || status=$$?; \
		echo "NOTE: browser tests (marker e2e) were NOT run: $(CHROMIUM) not found (apt-get install chromium)."; \
		exit $$status; \
	fi

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# OAuth2 benchmark (needs PostgreSQL and wrk); e.g. make bench-oauth BENCH_ARGS="--duration 10 --path /api/oauth2/me"
bench-oauth: $(STAMP)
	$(BIN)/python bench/oauth.py $(BENCH_ARGS)

# Users API benchmark: 10,000 users, ListUsers pageSize=50 under gunicorn on PostgreSQL (needs wrk).
bench-users: $(STAMP)
	$(BIN)/python bench/users_api.py $(BENCH_ARGS)

# Scanner latency: median and p99 per scanner on 1 KB texts, one core (no database needed).
bench-scanners: $(STAMP)
	$(BIN)/python bench/scanners.py $(BENCH_ARGS)

# Scanner precision/recall on offline data (Faker PII, Django's translations, generated files).
bench-scanner-accuracy: $(STAMP)
	$(BIN)/python bench/scanner_accuracy.py $(BENCH_ARGS)

# Documents: a 200-page PDF's extraction and passages_for p50/p99 over 1,000 documents (no server, no wrk).
bench-documents: $(STAMP)
	$(BIN)/python bench/documents.py $(BENCH_ARGS)
# LLM engine adapters against their fake servers on loopback: added first-delta latency and CPU per 1,000 deltas.
bench-engines: $(STAMP)
	$(BIN)/python bench/engines.py $(BENCH_ARGS)

# Chat streams: first-token overhead at 1/50/200 concurrent streams and 1,000 simultaneous streams' memory, on
# PostgreSQL with gunicorn + uvicorn workers and the development engine (see docs/chat-api.md, README).
bench-chat: $(STAMP)
	$(BIN)/python bench/chat.py $(BENCH_ARGS)

# Oversight on PostgreSQL, 1,000,000 messages from seed_activity (seeded once into bench_oversight): each dashboard
# element's data endpoint and the compliance searches p50/p99, the compliance export's memory for 100,000 rows.
bench-oversight: $(STAMP)
	$(BIN)/python bench/oversight.py $(BENCH_ARGS)

# Counting one chat exchange in the dashboards' rollups (exchange_add) on PostgreSQL (bench_rollups) and SQLite:
# median, p99, CPU and statements per exchange, with and without hits; the monitoring receiver without rules.
bench-rollups: $(STAMP)
	$(BIN)/python bench/rollups.py $(BENCH_ARGS)

# Compliance search p50/p99 and export memory on 1,000,000 COPY-seeded messages of varied text (bench_compliance).
bench-compliance: $(STAMP)
	$(BIN)/python bench/compliance.py $(BENCH_ARGS)
