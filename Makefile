# vidgen: one short command for each thing a person does.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SPEC   ?= examples/specs/cold-brew-ad.yaml
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: venv demo test test-fast lint docs docs-tables docs-serve dev bench clean system-deps

# The install's own chatter (setuptools' notice that an editable install is one) goes to a log, shown
# only when the install fails.
$(BIN)/vidgen: pyproject.toml
	@echo "installing vidgen and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/pip install --quiet -e ".[dev]" >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $@

venv: $(BIN)/vidgen

## Render one example spec and print the path of final.mp4
demo: venv
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/vidgen render $(SPEC)

## ruff, mypy, the import contracts, Dagster's definitions, the docs site (`make test` runs this first)
lint: venv docs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	VIRTUAL_ENV=$(abspath .venv) $(BIN)/dg check defs

## The docs site, built strictly into site/: fails on a broken link or a generated page the code has outgrown
docs: venv
	$(BIN)/python -m vidgen_assets.docs_tables --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

## Write the generated pages (docs/reference/models.md, settings.md, spec-fields.md) from the code
docs-tables: venv
	$(BIN)/python -m vidgen_assets.docs_tables

## Serve the docs site on http://127.0.0.1:8000, rebuilt on every change
docs-serve: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

## The system packages the tests drive (PostgreSQL, Chromium, melt): installed when missing (root or sudo), else named
system-deps:
	bash scripts/system-deps.sh

test: system-deps lint
	$(BIN)/pytest -n 2 --durations=15 vidgen_tests

## The tests not marked slow, daemon, browser or postgres: meant to take under 3 minutes on 2 cores
test-fast: venv
	$(BIN)/pytest -n 2 -m "not slow and not daemon and not browser and not postgres" vidgen_tests

## Every benchmark in bench/README.md, one command per figure (about 40 minutes on 2 cores; results in bench/results/)
bench: venv
	$(BIN)/python -m bench.local_render --runs 3 --durations 30 --formats 576p24 1080p30
	$(BIN)/python -m bench.local_render --runs 3 --formats 576p24
	$(BIN)/python -m bench.local_render --runs 1 --formats 1080p30
	$(BIN)/python -m bench.stitch       --runs 3
	$(BIN)/python -m bench.pipeline     --runs 3 --scale 0.1
	$(BIN)/python -m bench.pipeline     --runs 1 --scale 1 --sequential 2
	cp bench/results/pipeline-x1.json bench/results/pipeline-x1-all.json
	$(BIN)/python -m bench.pipeline     --runs 1 --scale 1 --pairs 6 --sequential 6
	mv bench/results/pipeline-x1.json bench/results/pipeline-x1-6pairs-sequential.json
	$(BIN)/python -m bench.daemon
	$(BIN)/python -m bench.sensor_tick  --runs 3

## The Dagster UI over the same instance the CLI records into
dev: venv
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp vidgen_assets/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf vidgen_data .dagster_home .pytest_cache .mypy_cache .ruff_cache site
