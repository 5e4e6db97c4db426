# Cobro: `make run` (the product on the embedded default) and `make test` (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := $(UV) run --frozen python
SYSTEM_PACKAGES := gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
	libfontconfig1 fonts-dejavu-core poppler-utils
BROWSER_PACKAGES := chromium

.PHONY: help setup system-deps browser-deps node-deps run test lint format bench seed messages clean-data

help:
	@echo "make run    install, migrate, load demo data and run web + worker + beat"
	@echo "make test   install and run the whole test suite"
	@echo "make lint   ruff (lint + format check), mypy, makemigrations --check, OpenAPI drift"
	@echo "make bench  benchmarks (billing run, rendering, pages)"

$(UV):
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --user --quiet uv || python3 -m pip install --quiet --break-system-packages uv

# Debian packages WeasyPrint needs (HarfBuzz subsetting is its fast path); only when missing
# and only as root, so a developer without root is told what to install instead.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES) $(EXTRA_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else echo "WARNING: please install these Debian packages:$$missing"; fi; \
	fi

browser-deps: node-deps
	@$(MAKE) --no-print-directory system-deps EXTRA_PACKAGES="$(BROWSER_PACKAGES)"

# axe-core for the accessibility browser tests, exactly as locked in package-lock.json, into
# node_modules/ (git-ignored); reinstalled only when the lock file changes.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "WARNING: npm not found: the accessibility tests will be skipped"; fi

node-deps: node_modules/.package-lock.json

setup: $(UV) system-deps
	@$(UV) sync --frozen --quiet
	@$(PY) manage.py compilemessages --ignore=.venv -v 0

run: setup
	@$(PY) manage.py migrate --no-input -v 0
	@$(PY) manage.py createcachetable
	@$(PY) manage.py collectstatic --no-input -v 0
	@$(PY) manage.py seed_demo
	@$(PY) manage.py runall

seed: setup
	@$(PY) manage.py migrate --no-input -v 0
	@$(PY) manage.py createcachetable
	@$(PY) manage.py seed_demo

# Two xdist workers (each with its own test database); override with PYTEST_ARGS="...".
PYTEST_ARGS ?= -n 2
test: setup browser-deps
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

lint: setup
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy .
	@$(PY) manage.py makemigrations --check --dry-run -v 1

format: setup
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

messages: setup
	@$(PY) manage.py makemessages -l es_419 -l en --ignore=.venv --ignore=.data -v 0
	@$(PY) manage.py compilemessages --ignore=.venv -v 0

# Regenerate the committed OpenAPI schema of API v1 (tests/api/test_openapi_drift.py checks it).
openapi: setup
	@$(PY) manage.py spectacular --api-version v1 --validate --fail-on-warn --file openapi.yaml

# All benchmarks, or some by name: make bench BENCH="dashboard api". wrk drives bench_api.
bench: setup
	@$(MAKE) --no-print-directory system-deps EXTRA_PACKAGES="wrk"
	@$(UV) run --frozen python -m tests.bench $(BENCH)

clean-data:
	rm -rf .data
