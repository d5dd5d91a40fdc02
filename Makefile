# The two commands the README opens with: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .demo
PIP_FLAGS := --quiet --disable-pip-version-check

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_HOME ?= $(CURDIR)/.prefect-home

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]' 2> $(VENV)/pip-errors.log || (cat $(VENV)/pip-errors.log; exit 1)
	$(BIN)/python -c "import cli.app, prefect, pandera, sqlmodel"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/alliance demo --dir $(DEMO_DIR) --months 12 --slack local

# The suite on one worker more than the cores, at most five (pytest-xdist; three on CI's two cores, which then stay busy
# while a test waits on a server or a subprocess): `.venv/bin/pytest` alone runs it in one process.
WORKERS ?= $(shell n=$$(nproc); echo $$(( n + 1 > 5 ? 5 : n + 1 )))
test: $(STAMP)
	$(BIN)/python -m pytest --numprocesses=$(WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO_DIR) .prefect-home .pytest_cache .mypy_cache .ruff_cache
