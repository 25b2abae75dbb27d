# vidgen: one short command for each thing a person does.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SPEC   ?= examples/specs/cold-brew-ad.yaml
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: venv demo test lint dev clean

$(BIN)/vidgen: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

venv: $(BIN)/vidgen

## Render one example spec and print the path of final.mp4
demo: venv
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/vidgen render $(SPEC)

## ruff, mypy, the import contract of the pure core, then the whole test suite
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2 --durations=15 vidgen_tests

## The Dagster UI over the same instance the CLI records into
dev: venv
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf vidgen_data .dagster_home .pytest_cache .mypy_cache .ruff_cache
