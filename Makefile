# The two commands a newcomer needs:  `make run` (serve an app)  and  `make test` (everything CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APP ?=
ARGS ?=

.PHONY: run test check lint typecheck unit format bench bench-smoke autobahn autobahn-quick clean \
	browser lab-screenshot

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

## make run [APP=module:app] [ARGS="--port 8080 ..."]: serve an app (forno's demo, the
## concurrency lab of docs/lab.md, when APP is empty)
run: $(STAMP)
	$(BIN)/forno $(APP) $(ARGS)

## make test: lint, type-check, the whole test suite, the benchmark smoke run and the quick
## Autobahn WebSocket conformance run (everything CI runs)
test: browser check unit bench-smoke autobahn-quick

## make browser: install Debian's chromium and chromium-driver (apt-get, as root) for the lab's
## browser test, unless they are there already
browser:
	scripts/install-browser

## make lab-screenshot: run the lab's browser test and refresh docs/img/lab-timeline.png
lab-screenshot: $(STAMP) browser
	UPDATE_LAB_SCREENSHOT=1 $(BIN)/python -m pytest tests/e2e/test_lab_browser.py -q

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks conformance examples
	$(BIN)/ruff format --check src tests benchmarks conformance examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks conformance examples
	$(BIN)/ruff check --fix src tests benchmarks conformance examples

clean:
	rm -rf $(VENV) build dist src/*.egg-info

## make bench [BENCH_ARGS="--servers uvicorn,forno --scenarios plaintext,ws --repeat 3"]: benchmark
## forno against its peers (creates benchmarks/.venv; writes benchmarks/results/latest.md)
bench:
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

## make bench-smoke: every benchmark scenario for ~1 s against forno only, in the project venv
bench-smoke: $(STAMP)
	$(BIN)/python benchmarks/run.py --smoke

## make autobahn [AUTOBAHN_ARGS="--quick"]: WebSocket conformance (Autobahn|Testsuite) against conformance/echo_app.py
autobahn: $(STAMP)
	$(BIN)/python conformance/autobahn.py $(AUTOBAHN_ARGS)

autobahn-quick: $(STAMP)
	$(BIN)/python conformance/autobahn.py --quick
