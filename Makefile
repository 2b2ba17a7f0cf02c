# kaggle-kit: `make demo` installs and runs the whole flow against a local fake Kaggle;
# `make test` runs every test (unit, real, e2e); `make submit` runs the real competition pipeline.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test demo submit

install: $(VENV)/.installed

# constraints.txt: the exact versions the recorded results were measured with (setup.cfg: the accepted ranges)
$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

# --durations: the 25 slowest tests at the end of every run, so that a CI log shows where its time goes
test: install
	$(BIN)/python -m pytest --durations=25

demo: install
	$(BIN)/kaggle-kit demo

submit: install
	$(BIN)/kaggle-kit run pipelines/default.yaml
