# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SAMPLE := data_samples/synthea_sample
DB ?= warehouse/cramp_cohort.duckdb

.PHONY: demo test lint bench clean install dagster

install: $(INSTALLED)

# Re-installs when the pinned dependencies change.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench,spark]'
	touch $@

demo: $(INSTALLED)
	rm -f $(DB) $(DB).wal
	CRAMP_COHORT_DB=$(DB) $(BIN)/cramp-cohort run --landing $(SAMPLE)
	CRAMP_COHORT_DB=$(DB) $(BIN)/cramp-cohort report
	@echo "warehouse:  $(DB)  (DuckDB; tables raw.*, staging.*, quarantine.rows, dq.*, ref.*, intermediate.*, cohort.*, marts.*)"
	@echo "published:  warehouse/published/  (read-only snapshot for dashboards)"
	@echo "reports:    warehouse/reports/dashboard.html, definition.html, data_quality.html"
	@echo "run logs:   warehouse/runs/"

# Two test processes, one per core of CI's machine (pytest-xdist); the tests of a file stay in one process, so its
# module fixtures are built once. Temp folders inside the checkout: two checkouts on one machine (CI beside a
# developer) never clear each other's.
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n 2 --dist loadfile --basetemp=$(CURDIR)/.pytest_tmp

# The Dagster UI with the whole asset graph, sensor and schedule; runs queue one at a time (dagster_home/dagster.yaml).
dagster: $(INSTALLED)
	DAGSTER_HOME=$(CURDIR)/dagster_home $(BIN)/dagster dev

lint: $(INSTALLED)
	$(BIN)/ruff check .

bench: $(INSTALLED)
	$(BIN)/python -m bench.run

clean:
	rm -rf warehouse bench/cache .pytest_cache .pytest_tmp
