# The developer's interface. `make run` and `make test` work on a fresh machine;
# `make ci` runs every check CI runs.
VENV ?= .venv
# The interpreter that creates the virtualenv (Python 3.12): `make run PYTHON=python3.12`.
PYTHON ?= python3
PY := $(VENV)/bin/python
# The stamp names both requirement files' checksum: editing either reinstalls.
# (cksum is POSIX: macOS has no sha256sum.)
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# Sub-makes (make ci) print no "Entering directory" lines: the last line of
# `make ci` stays pytest's summary.
MAKEFLAGS += --no-print-directory

.PHONY: install browser run test test-pg lint typecheck format migrations-check deploy-check reset-local-db

# A developer's machine gets the dev set (requirements-dev.txt includes the
# runtime set, requirements.txt, which is all the container installs).
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (Playwright can't download browsers
# here). Never installs anything: says what is missing and how to get it.
# CHROMIUM_PATH names another binary (tests/browser/conftest.py reads it too).
CHROMIUM_PATH ?= /usr/bin/chromium
browser:
	@test -x "$(CHROMIUM_PATH)" || { \
	  echo "The browser tests need Chromium at $(CHROMIUM_PATH), which is missing. Install it:"; \
	  echo "  Debian/Ubuntu: sudo apt-get install chromium"; \
	  echo "  macOS:         brew install --cask chromium, then make test CHROMIUM_PATH=/Applications/Chromium.app/Contents/MacOS/Chromium"; \
	  exit 1; }

# PostgreSQL's client tools, for the checks that talk to PostgreSQL directly
# (security, resilience). Says how to install them; never does.
pg-tools:
	@command -v psql >/dev/null 2>&1 && command -v pg_dump >/dev/null 2>&1 || { \
	  echo "psql and pg_dump are missing. Install PostgreSQL's client tools:"; \
	  echo "  Debian/Ubuntu: sudo apt-get install postgresql-client"; \
	  echo "  macOS:         brew install libpq && brew link --force libpq"; \
	  exit 1; }

# `make run PORT=8123` serves on another port.
PORT ?= 8000
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo --history
	@echo
	@echo "Demarche is at http://127.0.0.1:$(PORT)/"
	@echo "Demo logins (user / password): analyst / demo-analyst-pass, analyst2 / demo-analyst2-pass,"
	@echo "  reviewer / demo-reviewer-pass, researcher / demo-researcher-pass, admin / demo-admin-pass"
	@echo
	@# The worker runs detection's background tasks beside the server, and stops with it.
	DEBUG=1 $(PY) manage.py db_worker & WORKER=$$!; \
	  trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	  DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install browser
	CHROMIUM_PATH=$(CHROMIUM_PATH) $(PY) -m pytest $(PYTEST_ARGS)

test-pg:
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/demarche} $(MAKE) test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy with django-stubs over annotations/ and config/ (pyproject.toml says how
# strict). Settings refuse to import without DEBUG or a real secret key.
typecheck: install
	DEBUG=1 $(VENV)/bin/mypy

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
	DEBUG=1 $(PY) manage.py seed_demo --history

# The OpenAPI schema of /api/ builds without a warning and validates.
.PHONY: schema-check
schema-check: install
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# The quote detector's figures on our own gold sets (tests/data/detector/: the
# seed and short articles we wrote; holdout.jsonl was written before any tuning
# and is never tuned on). Fails when overlap F1 or the source share falls under
# floors set just below the figures measured (README, "Quote detection"); the
# same floors hold in tests/test_detect_commands.py.
.PHONY: detector-eval
detector-eval: install
	DEBUG=1 $(PY) manage.py evaluate_detector tests/data/detector/dev.jsonl \
	  --floor-direct 0.99 --floor-all 0.99 --floor-source 0.99
	DEBUG=1 $(PY) manage.py evaluate_detector tests/data/detector/holdout.jsonl \
	  --floor-direct 0.95 --floor-all 0.85 --floor-source 0.90
	DEBUG=1 $(PY) manage.py evaluate_detector tests/data/detector/dev2.jsonl \
	  --floor-direct 0.99 --floor-all 0.99 --floor-source 0.99
	DEBUG=1 $(PY) manage.py evaluate_detector tests/data/detector/blind.jsonl \
	  --floor-direct 0.95 --floor-all 0.94 --floor-source 0.96

# --- Benchmarks and resilience (bench/, tests/test_resilience.py) ---------------
.PHONY: bench resilience

# The benchmark table (bench/__main__.py): 1,000,000 quotes, non-zero on a missed
# target. QUICK=1: small sizes in under two minutes, never fails on a miss (CI).
# Its database, demarche_bench_<pid>, is dropped at the end. REUSE=1 keeps
# demarche_bench between runs instead (reused when the bench generated it with
# the same spec; refused, never dropped, when anything else made it).
BENCH_ARGS ?=
bench: install
	$(PY) -m bench $(if $(QUICK),--quick) $(if $(REUSE),--reuse) $(BENCH_ARGS)

# Load, concurrent edits, backup round trip and a PostgreSQL restart, against
# gunicorn on 127.0.0.1, on a PostgreSQL cluster of the tests' own
# (tests/throwaway_postgres.py: initdb into a temporary folder, a free port on
# 127.0.0.1; stopped and deleted afterwards): the one they restart. Needs
# PostgreSQL's server programs (initdb, pg_ctl; PG_BINDIR names their folder).
# The server DATABASE_URL names is only checked, never restarted.
resilience: install pg-tools
	DEMARCHE_RESILIENCE=1 DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/demarche} \
	  $(PY) -m pytest tests/test_resilience.py -v -s $(PYTEST_ARGS)

# --- CI: `make ci` runs every check CI runs, in CI's order ---------------------
# .ci/run adds only what a CI machine needs first (starting PostgreSQL,
# installing Chromium) and then runs `make ci`. PG_URL_BASE names the server.
PG_URL_BASE ?= postgres://postgres@127.0.0.1:5432
.PHONY: ci security compose-smoke test-sqlite pg-tools image-check

# The image's inputs without Docker: the build context .dockerignore leaves,
# the packages the final stage installs, its USER (.ci/image_check.py).
# Standard library only, so no install first.
image-check:
	$(PYTHON) .ci/image_check.py

# Static analysis of Demarche's own code: zero findings (waivers are inline
# `# nosec BXXX` comments next to the reason). Known vulnerabilities in
# everything installed (.ci/pip_audit.py): exits 1 on any; packages the advisory
# service couldn't answer for are counted on a loud NOT AUDITED line, never
# reported as safe. Then the offset invariant read back by the database's own substr() on
# the demo data, in a database of the run's own (demarche_offsets_<shell pid>)
# that the trap drops whether the checks pass or fail.
security: install pg-tools
	$(VENV)/bin/bandit -r annotations config -q
	$(PY) .ci/pip_audit.py
	db=demarche_offsets_$$$$; psql "$(PG_URL_BASE)/postgres" -q -c "CREATE DATABASE $$db" \
	  && trap 'psql "$(PG_URL_BASE)/postgres" -q -c "DROP DATABASE IF EXISTS $$db WITH (FORCE)"' EXIT \
	  && export DATABASE_URL=$(PG_URL_BASE)/$$db DEBUG=1 \
	  && $(PY) manage.py migrate --noinput -v0 && $(PY) manage.py seed_demo -v0 && $(PY) manage.py check_offsets

# The compose file and the container's command, run without Docker on PostgreSQL,
# in a database of the run's own (demarche_smoke_<shell pid>), dropped by the trap.
compose-smoke: install pg-tools
	db=demarche_smoke_$$$$; psql "$(PG_URL_BASE)/postgres" -q -c "CREATE DATABASE $$db" \
	  && trap 'psql "$(PG_URL_BASE)/postgres" -q -c "DROP DATABASE IF EXISTS $$db WITH (FORCE)"' EXIT \
	  && DATABASE_URL=$(PG_URL_BASE)/$$db $(PY) .ci/compose_smoke.py

# The whole suite on SQLite, whatever DATABASE_URL the shell has.
test-sqlite:
	env -u DATABASE_URL $(MAKE) test

ci:
	@printf '\n== %s ==\n' "Lint"
	$(MAKE) lint
	@printf '\n== %s ==\n' "Container image inputs"
	$(MAKE) image-check
	@printf '\n== %s ==\n' "Types"
	$(MAKE) typecheck
	@printf '\n== %s ==\n' "Migrations and deploy checks"
	$(MAKE) migrations-check
	$(MAKE) deploy-check
	@printf '\n== %s ==\n' "Security scans"
	$(MAKE) security
	@printf '\n== %s ==\n' "Compose file and the container's command on PostgreSQL"
	$(MAKE) compose-smoke
	@printf '\n== %s ==\n' "OpenAPI schema"
	$(MAKE) schema-check
	@printf '\n== %s ==\n' "Quote detector on its gold sets"
	$(MAKE) detector-eval
	@printf '\n== %s ==\n' "Tests on SQLite"
	$(MAKE) test-sqlite PYTEST_ARGS="-q"
	@printf '\n== %s ==\n' "Tests on PostgreSQL"
	DATABASE_URL=$(PG_URL_BASE)/demarche $(MAKE) test PYTEST_ARGS="-q"
	@printf '\n== %s ==\n' "Benchmarks (quick)"
	@# Checks that every job runs (not its timings): small sizes, under two minutes.
	$(MAKE) bench QUICK=1
	@printf '\n== %s ==\n' "Beside doccano (quick; reporting, never failing CI)"
	@# Installs doccano 1.8.4 in its own virtualenv the first time: a failure or a hang is reported, not fatal.
	-timeout --kill-after=60 1200 $(PY) -m bench.peers --quick
	@printf '\n== %s ==\n' "Resilience"
	@# Load (50 clients), concurrent edits, a pg_dump round trip, then a PostgreSQL
	@# restart mid-write, on a throwaway cluster of the tests' own.
	RESILIENCE_LOAD_SECONDS=30 $(MAKE) resilience

# --- Demarche beside doccano 1.8.4 (bench/peers.py) ------------------------------
# Installs doccano in bench/.peers/ (once, Python 3.11), serves both apps with
# 5 sync gunicorn workers on 127.0.0.1 against the same PostgreSQL (a database
# each, dropped afterwards), loads the same 10,000 documents into both and
# prints req/s side by side. QUICK=1: 300 documents, 3-second runs (a few
# minutes; reporting, never gating). BENCH_POSTGRES names the server.
.PHONY: bench-peers
bench-peers: install
	$(PY) -m bench.peers $(if $(QUICK),--quick)
