# Targets people type. Each sets up what it needs in .venv, which cannot see the machine's global packages.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: install test lint format bench demo clean mutation

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(STAMP)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: install
	$(BIN)/mlops local-run --out out

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .mutation build dist out

# One JSON line per benchmark and one met/MISSED line per target. bench_served.py needs `wrk` (apt-get install wrk);
# polars, the ETL's yardstick, comes with the dev extra.
bench: install
	@for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

# Mutation testing (docs/mutation-testing.md): a score per module, non-zero exit below mutation/modules.toml's
# threshold. MODULE=<path> mutates one module; CHANGED=<git rev> only the lines changed since that revision;
# WHERE=<name> only the mutants inside that function or class.
mutation: install
	$(BIN)/python -m mutation.run $(if $(MODULE),--module $(MODULE)) $(if $(CHANGED),--changed $(CHANGED)) \
		$(if $(WHERE),--where $(WHERE)) \
		$(if $(JOBS),--jobs $(JOBS)) $(if $(TESTS),--tests $(TESTS)) $(if $(FRESH),--fresh)
