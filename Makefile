# Two commands for a fresh machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/cti
REDIS_URL ?= redis://127.0.0.1:6379/15
export CTI_VAR_DIR ?= $(CURDIR)/var

.PHONY: run test install lint check test-postgres test-sqlite openapi worker web clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Embedded default: SQLite, a Celery worker on kombu's filesystem transport, no other service.
run: install
	mkdir -p $(CTI_VAR_DIR)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_admin
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Starting Celery worker (filesystem broker) and the web server on http://127.0.0.1:8000"
	@trap 'kill 0' INT TERM EXIT; \
	  EMAIL_BACKEND=$${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend} \
	  $(BIN)/celery -A cti worker --loglevel=WARNING --concurrency=1 --pool=solo & \
	  $(PY) manage.py runserver --insecure --noreload 127.0.0.1:8000

# The production process set without Docker (compose.yaml's web, worker and beat): gunicorn,
# a Celery worker and Celery beat on PostgreSQL (PG_URL) and Redis (STACK_REDIS_URL, not the
# tests' REDIS_URL), JSON logs. Ctrl-C stops all three. /ready, /metrics: docs/operations.md
STACK_REDIS_URL ?= redis://127.0.0.1:6379/0
STACK_BIND ?= 127.0.0.1:8000
.PHONY: stack
stack: install
	mkdir -p $(CTI_VAR_DIR)
	DATABASE_URL=$(PG_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(PG_URL) $(PY) manage.py collectstatic --noinput --verbosity 0
	@trap 'kill 0' INT TERM EXIT; \
	  export DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(STACK_REDIS_URL) \
	    CACHE_URL=$(STACK_REDIS_URL) CTI_BIND=$(STACK_BIND) \
	    PROMETHEUS_MULTIPROC_DIR=$(CTI_VAR_DIR)/prometheus \
	    CTI_LOG_FORMAT=$${CTI_LOG_FORMAT:-json} \
	    CTI_THROTTLE_USER_RATE=$${CTI_THROTTLE_USER_RATE-1200/minute}; \
	  $(BIN)/celery -A cti worker --loglevel=INFO & \
	  $(BIN)/celery -A cti beat --loglevel=INFO & \
	  $(BIN)/gunicorn -c python:cti.ops.gunicorn_conf cti.wsgi:application

worker: install
	$(BIN)/celery -A cti worker --loglevel=INFO

web: install
	$(BIN)/gunicorn cti.wsgi:application --bind 127.0.0.1:8000 --workers 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: install
	mkdir -p $(CTI_VAR_DIR)
	DATABASE_URL=sqlite:///$(CTI_VAR_DIR)/check.sqlite3 $(PY) manage.py check --fail-level WARNING
	DATABASE_URL=sqlite:///$(CTI_VAR_DIR)/check.sqlite3 $(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --file $(CTI_VAR_DIR)/openapi.check.yaml --validate --fail-on-warn
	diff -u openapi.yaml $(CTI_VAR_DIR)/openapi.check.yaml

openapi: install
	$(PY) manage.py spectacular --file openapi.yaml --validate

# the Playwright test of the admin (tests/browser) drives Debian's Chromium; two pytest-xdist
# workers (each its own test database and Redis databases: tests/conftest.py), as the suite
# mostly waits on PostgreSQL, workers and servers
test-postgres: install
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	DATABASE_URL=$(PG_URL) CTI_TEST_BROKER_URL=$(REDIS_URL) $(BIN)/pytest -q -m "not fault" -n 2

# the API fuzzing (tests/fuzz) runs once, on PostgreSQL: it exercises the HTTP layer
test-sqlite: install
	DATABASE_URL=sqlite:///$(CTI_VAR_DIR)/test.sqlite3 $(BIN)/pytest -q -m "not live" --ignore=tests/fuzz

# kill -9 of workers during rule activation (Redis, prefork pool, filesystem broker); a
# private PostgreSQL restarted and a private Redis stopped under a write load (tests/faults)
test-faults: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -m fault

# Issue #9: the case API at BENCH_CASES cases (10 artifacts, 10 notes, 5 tasks each) on
# PostgreSQL, wrk against gunicorn and the minimal view (bench/api/README.md). The data set is
# generated once into BENCH_DB and reused; figures go to bench/api/results/.
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/cti_scale_bench
BENCH_CASES ?= 100000
.PHONY: bench-api
bench-api: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/api/generate.py --database $(BENCH_DB) --cases $(BENCH_CASES) --reuse
	$(PY) bench/api/run.py --database $(BENCH_DB)

# The whole suite: lint and project checks, then every test on PostgreSQL (with a real Celery
# worker on Redis and live-server tcex tests) and, alongside, on SQLite.
test: install
	mkdir -p $(CTI_VAR_DIR)
	$(MAKE) --no-print-directory lint check
	$(MAKE) --no-print-directory -j2 --output-sync=target test-postgres test-sqlite

clean:
	rm -rf $(VENV) var
