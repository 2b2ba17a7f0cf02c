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

# Two workers (pytest-xdist), each taking whole test files (--dist loadfile: a module's fixtures are built once),
# each with one torch thread: one pytest process left a core idle while its tests waited on the CLI processes they
# start, and two workers of torch's default 2 threads oversubscribed the cores. On a 2-core machine like CI's it took
# 1,755 s in one process, 1,259 s in two workers, 1,021 s in two workers of one thread (benchmarks/RESULTS.md,
# session 27). TEST_WORKERS=0 runs it in one process; TEST_THREADS sets the workers' torch threads.
# --durations: the 25 slowest tests at the end of every run, so that a CI log shows where its time goes
TEST_WORKERS ?= 2
TEST_THREADS ?= 1
test: install
	OMP_NUM_THREADS=$(TEST_THREADS) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

demo: install
	$(BIN)/kaggle-kit demo

submit: install
	$(BIN)/kaggle-kit run pipelines/default.yaml
