# kaggle-kit: `make install` sets up .venv; `make test` runs every test (unit, real, e2e).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

test: install
	$(BIN)/python -m pytest
