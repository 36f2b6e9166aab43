# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The suite runs on one pytest process per core (pytest-xdist), idle ones stealing queued tests;
# `make test PYTEST_ARGS=` runs it in one process.
PYTEST_ARGS ?= -n auto --dist worksteal

.PHONY: run test test-slow bench calibrate paper teaching install clean

# torch is installed first and alone, by exact version: pip takes the CPU wheel from this
# machine's disk; letting a resolver choose it could pull a multi-GB CUDA build instead.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/artifactual run --out results

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	ARTIFACTUAL_SLOW=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# The tools `make bench` compares with (CleanVision, fairlearn) live in the optional `bench` extra.
$(VENV)/.bench-stamp: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-stamp
	$(PY) -m artifactual.app.bench

# The error rates of the audit's own tests (a benchmark, not a test): results/calibration/, then its figures.
# Adds real LFW + ORL null datasets when ARTIFACTUAL_DATA points at them.
calibrate: $(STAMP)
	$(PY) -m artifactual.analyses.calibration --out results/calibration
	$(PY) -m artifactual.paper.figures calibration results/calibration

# The report: results/<name>/summary.json -> paper/build/paper.pdf (Typst, offline, bundled fonts).
paper: $(STAMP)
	$(PY) -m artifactual.paper.build

# The teaching pack (README "Teaching"): the notebooks executed in full and rendered to results/teaching/*.html,
# the claim cards from results/<study>/summary.json into results/cards/, the game page results/teaching/.
# The test extra already holds the teaching extra (CI executes every notebook).
teaching: $(STAMP)
	$(PY) -m artifactual.paper.teaching_build --out results/teaching --results results

clean:
	rm -rf $(VENV) results .pytest_cache
