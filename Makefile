# Two commands matter: `make run` and `make test`. Everything they need is installed here,
# never by hand, so a clean clone on a new machine works.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Rasa 3.6.21 supports Python 3.10 only: it gets a virtualenv of its own, and its model is
# trained once per change of the project's YAML (named by the files' fingerprint), both under
# the ignored .cache folder so a second `make test` neither reinstalls nor retrains.
RASA_PYTHON ?= $(shell pyenv prefix 3.10 2>/dev/null || echo /usr)/bin/python
RASA_VENV   := .cache/rasa-venv
RASA_STAMP  := $(RASA_VENV)/.installed
RASA_MODELS := .cache/rasa-models

.PHONY: run test lint typecheck pytest bench bench-smoke system-deps clean rasa rasa-model vendor
.PHONY: cluster chaos

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages the tests drive for real: redis-server, chromium (Playwright's own browser
# download cannot work here, so tests use /usr/bin/chromium), HAProxy and nginx with its stream
# module (the cluster's proxies: tests/cluster, tests/bench/chaos) and docker-compose (to
# validate docker-compose.yml; no Docker engine is needed for that).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing="$$missing libnginx-mod-stream"; \
	command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 \
		|| missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(RASA_STAMP):
	$(RASA_PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade pip 'setuptools<70' wheel
	$(RASA_VENV)/bin/pip install --quiet rasa==3.6.21 rasa-sdk==3.6.2
	touch $(RASA_STAMP)

rasa: $(RASA_STAMP)

# Trains nothing when a model for the current files is already there.
rasa-model: $(STAMP) $(RASA_STAMP)
	$(BIN)/switchboard nlu train --rasa-bin $(RASA_VENV)/bin/rasa --rasa-out $(RASA_MODELS)

run: $(STAMP)
	$(BIN)/switchboard serve --demo

# Three nodes behind HAProxy on loopback, one Postgres (embedded under var/cluster, or
# CLUSTER_ARGS='--database-url ...'), one Redis; Ctrl-C stops it (docs/operations.md).
# CLUSTER_ARGS='--proxy nginx' puts nginx in front (deploy/nginx.conf); CHAOS_PROXY=nginx too.
# `make chaos` injects the faults of issue 21 into such a cluster under traffic and prints a
# table of every message's fate.
cluster: $(STAMP) system-deps
	$(BIN)/switchboard cluster up $(CLUSTER_ARGS)

chaos: $(STAMP) system-deps
	$(BIN)/python -m bench.chaos

# The import rules of DESIGN.md are contracts in pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (CI has two cores), a test file per worker so each file's expensive fixtures
# (a Rasa stack, a browser) start once; the slowest tests are printed to keep the suite fast.
pytest: $(STAMP) system-deps bench-deps rasa-model
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

test: lint typecheck pytest

# Every part on loopback, on ports of its own; writes bench/RESULTS.md. BENCH_ONLY=ws, routing,
# mail, webhooks, startup or nlu runs one part; BENCH_ONLY=kb the knowledge-base search
# (1,000 to 100,000 chunks, about 1.5 minutes on 2 shared cores). bench-smoke runs them all at
# a few messages each, to see that they work (its figures mean nothing and are not written);
# `make test` does the same.
bench: $(STAMP) rasa-model bench-deps
	$(BIN)/python -m bench

bench-smoke: $(STAMP) rasa-model bench-deps
	BENCH_SIZE=smoke $(BIN)/python -m bench

# Debian's wrk drives the webhook part's HTTP load (a Python client was the bottleneck: the
# bare endpoint it measured peaked at 339 requests/s).
.PHONY: bench-deps
bench-deps:
	@if ! command -v wrk >/dev/null; then \
		echo "installing Debian packages: wrk"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; \
	fi

# Re-fetches the console's front-end libraries (Preact, htm, signals) and the tests' axe-core
# from the npm registry at the versions web_console/static/vendor/vendor.json and
# tests/e2e/vendor/vendor.json pin, refusing any tarball or file whose hash differs
# (docs/console-frontend.md). The files are committed: nothing else needs this.
vendor: $(STAMP)
	$(BIN)/python -m web_console.vendor

clean:
	rm -rf $(VENV) var .cache
