# Two commands on a fresh machine:
#   make demo   venv, install, SQLite demo database, sandbox payments, serve on 127.0.0.1:8000
#               (make demo PORT=8123 serves, and points the e-mails' links, at port 8123)
#   make test   venv, install, the whole test suite (SQLite; set SETTLE_TEST_DATABASE_URL for PostgreSQL)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
DEMO_ARGS ?=

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/settle demo --port $(PORT) $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

# The workloads at the sizes their issues name (minutes each); see bench/*.py for smaller runs.
bench: $(STAMP)
	$(BIN)/python bench/dunning.py
	$(BIN)/python bench/reconcile.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/api.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) settle-demo.db* settle-demo.secret settle-demo.env outbox test-output
