# Two commands on a fresh machine with Python 3.11: `make up` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: up test test-servers env lint bench bench-gateway bench-e2e bench-notify clean vendor-htmx fuzz

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	touch $@

env: $(VENV)/.synced

## Start the whole system on the embedded default (Ctrl-C stops it).
up: env
	$(PY) -m devstack up .data

## Run the test suite (starts its own PostgreSQL, Redis and broker on free ports).
test: env test-servers
	$(PY) -m pytest

## Servers the tests need that PyPI does not ship (Dovecot IMAP, Chromium for the console's
## browser tests); no-op once installed.
test-servers:
	bash scripts/install-test-servers.sh

## Re-vendor htmx for the console from the npm registry (the file is committed).
vendor-htmx:
	bash scripts/vendor-htmx.sh

lint: env
	$(VENV)/bin/ruff check libs services tests bench
	$(VENV)/bin/mypy libs/common/src libs/devstack/src services/*/src

bench: env
	$(PY) -m bench.pipeline

## Signed webhooks/s and 2xx p99 at 1,000/s, gateway vs a bare FastAPI+aiokafka app (~3 min).
bench-gateway: env
	$(PY) -m bench.gateway

## Telegram message -> ticket and reply -> provider p50/p99 at 20 conversations/s, then
## IMAP arrival -> stored ticket with IDLE (Dovecot, from test-servers) (~3 min).
bench-e2e: env test-servers
	$(PY) -m bench.e2e

## Notifications/s fanned out (email to an SMTP sink + SMS to fake Twilio) vs raw aiokafka (~3 min).
bench-notify: env
	$(PY) -m bench.notify

## Coverage-guided fuzzing with atheris, not part of the tests: each harness in fuzz/ runs
## FUZZ_SECONDS (60) s; corpora and crash files go to .data/fuzz/<harness>/ (docs/hostile-input.md).
FUZZ_SECONDS ?= 60
fuzz: env
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) fuzz/mime.py
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) fuzz/webhooks.py

clean:
	rm -rf .data .venv .tools
