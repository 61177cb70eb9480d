# OneThing: `make demo` runs the product on the embedded stack; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install chromium postgresql demo test up down status lint bench bench-scale faults schemas clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	touch $@

demo: install  ## start everything on free ports, run three applications, stop everything
	$(BIN)/onething demo --json demo-results.json

chromium:  ## headless Chromium, a CJK font and axe-core (npm) for the tracking-page tests
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-wqy-zenhei"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null; \
	fi
	@if [ ! -f tests/artifacts/node_modules/axe-core/axe.min.js ]; then \
		npm install --silent --no-save --no-package-lock --prefix tests/artifacts axe-core@4; \
	fi

postgresql:  ## Debian's PostgreSQL server, which the tests start for the shared-state path
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			postgresql >/dev/null; \
	fi

test: install chromium postgresql  ## unit, integration, end-to-end and replay tests on the real stack
	$(BIN)/pytest -q

up: install  ## stack and every process in the background (ports from ONETHING_* settings)
	$(BIN)/onething up

down:  ## stop everything `make up` started
	@if [ -x $(BIN)/onething ]; then $(BIN)/onething down; fi

status: install
	$(BIN)/onething status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install  ## OneThing beside bare Temporal, 3 rounds (BENCH_SCALE=large: 10,000 waiting)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m tests.bench 3

bench-scale: install  ## openings through the API with one and with two of every process
	$(BIN)/python -m tests.bench.scale 3 200

faults: install  ## every fault scenario with 60 applications in flight (prints one table)
	$(BIN)/python -m tests.faults 60 30

schemas: install
	$(BIN)/onething schemas export schemas
	$(BIN)/onething openapi schemas/openapi.json

clean: down
	rm -rf $(VENV) .onething .pytest_cache .mypy_cache .ruff_cache *.egg-info
