# The two commands of the README: `make run` and `make test`.
# Everything else here is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

# VARS (more dbt vars, YAML) reaches the command through the environment, so
# its quotes survive: make run VARS='{decimal_separator: ","}'.
export VARS
# HISTORY_FROM backfills the segment history (YYYY-MM-DD, or auto: a year
# before the as-of date); the demo data gets a year of it unless set.
HISTORY_FROM ?= $(if $(DATA),,auto)
HISTORY_EVERY ?= month
RUN_ARGS := $(if $(DATA),--data "$(DATA)") $(if $(AS_OF_DATE),--as-of-date "$(AS_OF_DATE)") $(if $(FULL_REFRESH),--full-refresh) $(if $(VARS),--vars "$$VARS") $(if $(HISTORY_FROM),--history-from "$(HISTORY_FROM)" --history-every "$(HISTORY_EVERY)")

DOCS_PORT ?= 8080
SIZE ?= S
WAREHOUSE := $(or $(SEGMENTS_DB_PATH),warehouse/segments.duckdb)

.PHONY: help run test lint pytest format demo-data docs report bench clean clear-history

help:
	@echo "make run   [DATA=folder] [AS_OF_DATE=YYYY-MM-DD] [FULL_REFRESH=1] [VARS='{yaml}']  build and summarise"
	@echo "         [HISTORY_FROM=YYYY-MM-DD|auto|none] [HISTORY_EVERY=month|week]  backfill the segment history"
	@echo "make test                                        every test and lint"
	@echo "make clear-history  drop the segment history (FULL_REFRESH keeps it)"
	@echo "make docs    dbt docs: check every description, serve on DOCS_PORT"
	@echo "make report  write warehouse/segment_report.html"
	@echo "make bench [SIZE=S|M|L] [MEMORY_LIMIT=4GB] [SKIP_BACKFILL=1]  benchmark, see BENCHMARKS.md"
	@echo "make lint | make format | make demo-data | make clean"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The runtime package itself is installed too (editable, from pyproject.toml),
# as users of other adapters install its wheel.
$(VENV)/.run-deps: requirements.txt constraints.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt requirements-bench.txt constraints.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(VENV)/.run-deps $(VENV)/.bench-deps $@

$(VENV)/.bench-deps: requirements.txt requirements-bench.txt constraints.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(VENV)/.run-deps $@

run: $(VENV)/.run-deps
	$(BIN)/python -m segmentation run $(RUN_ARGS)

clear-history: $(VENV)/.run-deps
	$(BIN)/python -m segmentation clear-history

test: lint pytest

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SEGMENTS_DB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint --processes 2

pytest: $(VENV)/.dev-deps
	$(BIN)/python -m pytest

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	SEGMENTS_DB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff fix

$(WAREHOUSE):
	$(MAKE) run

docs: $(VENV)/.dev-deps | $(WAREHOUSE)
	$(BIN)/dbt docs generate
	$(BIN)/python -m tools.docs_check
	@echo "dbt docs on http://localhost:$(DOCS_PORT) (Ctrl-C to stop)"
	$(BIN)/dbt docs serve --port $(DOCS_PORT) --no-browser

report: $(VENV)/.run-deps | $(WAREHOUSE)
	$(BIN)/python -m segmentation.report --db $(WAREHOUSE) --out warehouse/segment_report.html

bench: $(VENV)/.bench-deps
	$(BIN)/python -m tools.bench --size "$(SIZE)" \
		$(if $(MEMORY_LIMIT),--memory-limit "$(MEMORY_LIMIT)") \
		$(if $(BENCH_ROOT),--root "$(BENCH_ROOT)") \
		$(if $(BENCH_OUTPUT),--output "$(BENCH_OUTPUT)") \
		$(if $(SKIP_BACKFILL),--skip-backfill)

demo-data: $(VENV)/.run-deps
	$(BIN)/python -m tools.demo_data --out seeds/demo

clean:
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal warehouse/tmp
