# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Prefect: project-local home, quiet, and patient with a 2-core machine.
export PREFECT_HOME ?= $(CURDIR)/.casework/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export PREFECT_LOGGING_LEVEL ?= WARNING

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,browser,embeddings,scale]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@mkdir -p "$(PREFECT_HOME)"  # Prefect makes its home without parents, and warns otherwise
	$(BIN)/python -m demo

lint: $(STAMP)
	@mkdir -p "$(PREFECT_HOME)"
	$(BIN)/ruff check .
	$(BIN)/casework policy check
	$(BIN)/casework policy test

test: lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .casework
