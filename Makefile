# The few verbs a user needs. `make` (or `make help`) lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8866

.DEFAULT_GOAL := help
.PHONY: help venv run test test-fast lab dashboard bench lint format sample clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## build the virtual environment (.venv) from pyproject.toml if missing

run: $(STAMP) ## build the database from the sample if missing, then run every report
	$(BIN)/python -m helpers build-db --if-missing
	$(BIN)/python -m helpers reports

test: $(STAMP) ## run the whole test suite (unit, notebooks, batch, browser)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## run the tests that need no kernel or browser
	$(BIN)/python -m pytest -m "not slow and not browser"

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks/

dashboard: $(STAMP) ## serve the Voila dashboards on 127.0.0.1 (PORT=8866; WRITE=1 lets the self-evaluation save)
	$(BIN)/python -m helpers build-db --if-missing
	$(BIN)/python -m helpers dashboard --port $(PORT) $(if $(WRITE),--allow-write,)

bench: $(STAMP) ## run the benchmarks; results in bench/results/
	$(BIN)/python -m bench

lint: $(STAMP) ## ruff (lint and format check), the layers' import contract and the notebook-output check
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check helpers tests bench
	$(BIN)/nbstripout --verify notebooks/*.ipynb notebooks/dashboards/*.ipynb templates/*.ipynb

format: $(STAMP) ## format the code with ruff and strip notebook outputs
	$(BIN)/ruff format helpers tests bench
	$(BIN)/nbstripout notebooks/*.ipynb notebooks/dashboards/*.ipynb templates/*.ipynb

sample: $(STAMP) ## regenerate the synthetic sample in data/sample/
	$(BIN)/python -m helpers sample

clean: ## remove generated reports, their working folder and caches (keeps .venv and the database)
	rm -rf reports reports.work .pytest_cache .ruff_cache bench/results
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
