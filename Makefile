# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= small
DURATION ?= 60
# pytest-xdist workers for `make test`: most of the slow tests wait on child
# processes (workers killed and restarted, idleness timeouts), so two workers
# nearly halve the wall time on 2 cores; work stealing evens out their long tails.
TEST_WORKERS ?= 2

.PHONY: run test install system-deps lint layers typecheck unit integration dashboards clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Prometheus, promtool and Alertmanager come from Debian. Installed only when
# missing and only as root (CI runs as root); otherwise the stack runs without them.
system-deps:
	@bash scripts/install-system-deps.sh

run: install system-deps
	$(BIN)/cityops up --profile $(PROFILE) --duration $(DURATION)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Layers import downward only: the contract is in pyproject.toml ([tool.importlinter]).
layers: install
	$(BIN)/lint-imports

test: install system-deps lint layers typecheck
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

clean:
	rm -rf .cityops $(VENV)
