# The two commands: `make demo` and `make test`. Everything else is a habit of its own.
SHELL := /bin/sh
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
# Links in e-mails point where the portal serves, unless PORTAL_BASE_URL says otherwise
# (a proxy's public address).
PORTAL_BASE_URL ?= http://127.0.0.1:$(PORT)
export PORTAL_BASE_URL

.DEFAULT_GOAL := help
.PHONY: help venv demo run test lint fmt worker beat migrations-check clean bench bench-automation soak

help:
	@echo "make demo              install, migrate, load the demo enterprise, serve on http://127.0.0.1:$(PORT)"
	@echo "                       (PORT=8123 for another port, DEMO_PASSWORD=... to set the demo passwords)"
	@echo "make test              run the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)"
	@echo "make lint | fmt        ruff, djlint and the import contract | format the code"
	@echo "make run               serve without loading demo data"
	@echo "make worker | beat     a Celery worker on every queue | the Celery beat scheduler (need REDIS_URL)"
	@echo "make migrations-check  fail when models and migrations disagree"
	@echo "make bench             page latency, throughput and queries on gunicorn, PostgreSQL and Redis (.bench/results.json)"
	@echo "                       (BENCH_REQUESTS=1000000 for the database's size, BENCH_PER_SCENARIO=... requests each)"
	@echo "make bench-automation  automation throughput and latency on 2 workers and Redis (.bench/automation.json)"
	@echo "make soak              the mixed load of docs/faults.md for ten minutes (MIXED_LOAD_SECONDS=...)"
	@echo "                       (needs DATABASE_URL on PostgreSQL, REDIS_URL and redis-server)"

$(BIN)/python:
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo $(if $(DEMO_PASSWORD),--password '$(DEMO_PASSWORD)')
	@echo "Serving the portal at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	@# Celery beat runs the periodic sweeps (SLA breaches, automation steps that wait or
	@# retry); without Redis it runs their tasks in its own process.
	@DEBUG=$${DEBUG:-1} $(BIN)/celery -A esm beat -s $(VENV)/celerybeat-schedule --loglevel=warning & \
	beat=$$!; trap 'kill $$beat 2>/dev/null' EXIT INT TERM; \
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

run: $(STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n $${PYTEST_WORKERS:-auto} $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint templates --lint
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/djlint templates --reformat --quiet || true

migrations-check: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# One worker for every queue (esm/settings.py WORKER_QUEUES): a single machine's way. Past
# one machine, a pool per queue (docker-compose.yml, docs/scaling.md).
WORKER_QUEUES := default,automation,notifications,rollups,mail
worker: $(STAMP)
	$(BIN)/celery -A esm worker -Q $(WORKER_QUEUES) --loglevel=info

beat: $(STAMP)
	$(BIN)/celery -A esm beat --loglevel=info

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .artifacts

# Page latency and throughput on gunicorn (2 workers, production settings) against a signed-in
# no-op page, in a database of its own on DATABASE_URL's server (esm_bench_<BENCH_REQUESTS>,
# seeded once and kept).
bench: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/python -m bench.web $(ARGS)

# Automation throughput and latency on a real worker (2 processes) against a no-op task's
# round trip; a scratch database is created on DATABASE_URL's server and dropped after.
bench-automation: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/python -m bench.automation $(ARGS)

# The mixed-load fault test for ten minutes instead of `make test`'s 20 s (docs/faults.md): a
# live gunicorn, a worker and a redis-server of its own, on DATABASE_URL's test database.
soak: $(STAMP)
	@[ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ] || \
		{ echo "make soak needs DATABASE_URL (PostgreSQL) and REDIS_URL"; exit 2; }
	MIXED_LOAD_SECONDS=$${MIXED_LOAD_SECONDS:-600} \
	$(BIN)/python -m pytest -n 0 -rs tests/integration/test_mixed_load.py $(ARGS)
