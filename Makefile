# The developer's interface. `make run` and `make test` work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: install browser run test test-pg lint format migrations-check deploy-check reset-local-db

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (Playwright can't download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Install Chromium first: sudo apt-get install chromium"; exit 1; \
	  fi; }

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@echo
	@echo "Demarche is at http://127.0.0.1:8000/"
	@echo "Demo logins (user / password): analyst / demo-analyst-pass, analyst2 / demo-analyst2-pass,"
	@echo "  reviewer / demo-reviewer-pass, researcher / demo-researcher-pass, admin / demo-admin-pass"
	@echo
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

test-pg:
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/demarche} $(MAKE) test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: install
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

deploy-check: install
	DEBUG=0 SECRET_KEY=ci-deploy-check-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG \
	  ALLOWED_HOSTS=demarche.example.org $(PY) manage.py check --deploy --fail-level WARNING

reset-local-db:
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo

# The OpenAPI schema of /api/ builds without a warning and validates.
.PHONY: schema-check
schema-check: install
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# --- Benchmarks and resilience (bench/, tests/test_resilience.py) ---------------
.PHONY: bench resilience

# The benchmark table (bench/__main__.py): 1,000,000 quotes, non-zero on a missed
# target. QUICK=1: small sizes in under two minutes, never fails on a miss (CI).
# REUSE=1 keeps a bench database generated earlier with the same spec.
BENCH_ARGS ?=
bench: install
	$(PY) -m bench $(if $(QUICK),--quick) $(if $(REUSE),--reuse) $(BENCH_ARGS)

# Load, concurrent edits, backup round trip and a PostgreSQL restart, against
# gunicorn on 127.0.0.1. Restarts the PostgreSQL cluster DATABASE_URL points at
# (RESILIENCE_PG_CLUSTER names it when it is not "<version> main"); its own
# database is test_<name>_resilience, created and dropped by the tests.
resilience: install
	DEMARCHE_RESILIENCE=1 DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/demarche} \
	  $(PY) -m pytest tests/test_resilience.py -v -s $(PYTEST_ARGS)

# --- Demarche beside doccano 1.8.4 (bench/peers.py) ------------------------------
# Installs doccano in bench/.peers/ (once, Python 3.11), serves both apps with
# 5 sync gunicorn workers on 127.0.0.1 against the same PostgreSQL (a database
# each, dropped afterwards), loads the same 10,000 documents into both and
# prints req/s side by side. QUICK=1: 300 documents, 3-second runs (a few
# minutes; reporting, never gating). BENCH_POSTGRES names the server.
.PHONY: bench-peers
bench-peers: install
	$(PY) -m bench.peers $(if $(QUICK),--quick)
