# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean fixtures bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lint,plot,report,dask]"
	touch $(STAMP)

install: $(STAMP)

# The main job: the HTML report from the bundled evidence (progress on stderr).
run: $(STAMP)
	$(BIN)/alsmeta report

test: $(STAMP)
	$(BIN)/python -m pytest src tests

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Regenerate the metafor reference fixtures (needs R with metafor and jsonlite).
fixtures:
	for script in validation/r/*_fixtures.R; do Rscript "$$script" || exit 1; done

bench: $(STAMP)
	bash benchmarks/run.sh

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
